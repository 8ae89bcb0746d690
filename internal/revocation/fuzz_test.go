package revocation

import "testing"

// FuzzParse: revocation lists arrive on air-gapped machines by hand; the
// parser must reject garbage without panicking.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"list":"","signature":"","certificate":""}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Parse(b)
	})
}

package bundle

import "testing"

// FuzzParseManifest: bundle manifests come from outside; parsing must not
// panic, and an accepted manifest re-encodes and parses again.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"format":1,"bundle_version":1,"files":[]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseManifest(b)
		if err != nil {
			return
		}
		out, err := encodeManifest(m)
		if err != nil {
			return // accepted by the parser but refused by the stricter encoder is fine
		}
		if _, err := parseManifest(out); err != nil {
			t.Fatalf("re-encoded manifest does not parse: %v", err)
		}
	})
}

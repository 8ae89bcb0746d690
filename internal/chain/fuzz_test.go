package chain

import (
	"bytes"
	"testing"
)

// FuzzParseSignatureFile: the parser of outside input must never panic, and
// what it accepts must marshal back to the same bytes (one encoding per file).
func FuzzParseSignatureFile(f *testing.F) {
	f.Add([]byte(`{"signature":"` + string(bytes.Repeat([]byte("A"), 86)) + `=="}`))
	f.Add([]byte(`{"signature":"","certificate":""}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`not json`))
	f.Add([]byte(`{"signature":"AA==","signature":"AA=="}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		sf, err := ParseSignatureFile(b)
		if err != nil {
			return
		}
		out, err := sf.Marshal()
		if err != nil {
			t.Fatalf("accepted file does not marshal: %v", err)
		}
		again, err := ParseSignatureFile(out)
		if err != nil || !bytes.Equal(again.Signature, sf.Signature) || !bytes.Equal(again.Certificate, sf.Certificate) {
			t.Fatalf("round trip changed the file: %v", err)
		}
	})
}

// FuzzParseCertificatePEM: certificates from trust stores and signature files.
func FuzzParseCertificatePEM(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCertificatePEM(b)
		if err == nil && c == nil {
			t.Fatal("nil certificate without an error")
		}
	})
}

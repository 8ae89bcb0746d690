package statement

import (
	"bytes"
	"errors"
	"testing"

	"github.com/appsign/signer/internal/chain"
)

// TestMarshalForMatchesMarshal: for the certificate the file carries,
// MarshalFor gives Marshal's bytes, which ParseFile accepts.
func TestMarshalForMatchesMarshal(t *testing.T) {
	c := newTestChain(t, testNow)
	f := signedFile(t, c.leafKey, statementFor([]byte("archive")), c.leaf)
	want, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.MarshalFor(c.leaf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("MarshalFor =\n%s\nMarshal =\n%s", got, want)
	}
	if _, err := ParseFile(got); err != nil {
		t.Fatalf("ParseFile(MarshalFor()) = %v", err)
	}
}

// TestMarshalForInvalid: MarshalFor refuses what Marshal refuses, and a
// certificate other than the one it is given (the caller's parsed
// certificate is what it trusts instead of parsing the PEM).
func TestMarshalForInvalid(t *testing.T) {
	c := newTestChain(t, testNow)
	good := signedFile(t, c.leafKey, statementFor([]byte("archive")), c.leaf)
	tests := []struct {
		name string
		edit func(*File)
	}{
		{"no statement", func(f *File) { f.Statement = nil }},
		{"CRLF statement", func(f *File) { f.Statement = bytes.ReplaceAll(f.Statement, []byte("\n"), []byte("\r\n")) }},
		{"65-byte signature", func(f *File) { f.Signature = append(f.Signature, 0) }},
		{"no certificate", func(f *File) { f.Certificate = nil }},
		{"DER certificate", func(f *File) { f.Certificate = c.leaf.Raw }},
		{"certificate chain", func(f *File) { f.Certificate = append(f.Certificate, chain.CertificatePEM(c.inter)...) }},
		{"the intermediate's certificate", func(f *File) { f.Certificate = chain.CertificatePEM(c.inter) }},
		{"PEM with trailing text", func(f *File) { f.Certificate = append(f.Certificate, "x"...) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := good
			tt.edit(&f)
			if b, err := f.MarshalFor(c.leaf); !errors.Is(err, chain.ErrMalformed) {
				t.Fatalf("MarshalFor = %q, %v; want chain.ErrMalformed", b, err)
			}
		})
	}
	if b, err := good.MarshalFor(nil); !errors.Is(err, chain.ErrMalformed) {
		t.Fatalf("MarshalFor(nil) = %q, %v; want chain.ErrMalformed", b, err)
	}
}

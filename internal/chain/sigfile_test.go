package chain

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// goldenSignature is a fixed 64-byte signature: bytes 0..63.
func goldenSignature() []byte {
	sig := make([]byte, ed25519.SignatureSize)
	for i := range sig {
		sig[i] = byte(i)
	}
	return sig
}

// goldenCertificatePEM returns testdata/golden-cert.pem, regenerating it
// deterministically with -update.
func goldenCertificatePEM(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join("testdata", "golden-cert.pem")
	if *update {
		seeded := rand.NewChaCha8([32]byte{'g', 'o', 'l', 'd', 'e', 'n'})
		key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
		cert, err := NewRootCA(seeded, key, "golden", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, CertificatePEM(cert), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignatureFileMarshalGolden(t *testing.T) {
	certPEM := goldenCertificatePEM(t)
	tests := []struct {
		name   string
		file   SignatureFile
		golden string
	}{
		{"with certificate", SignatureFile{Signature: goldenSignature(), Certificate: certPEM}, "sigfile-with-cert.json"},
		{"without certificate", SignatureFile{Signature: goldenSignature()}, "sigfile-no-cert.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.file.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Marshal =\n%s\nwant\n%s", got, want)
			}
			back, err := ParseSignatureFile(got)
			if err != nil {
				t.Fatalf("ParseSignatureFile(Marshal()) = %v", err)
			}
			if !bytes.Equal(back.Signature, tt.file.Signature) || !bytes.Equal(back.Certificate, tt.file.Certificate) || (back.Certificate == nil) != (tt.file.Certificate == nil) {
				t.Errorf("round trip = %+v, want %+v", back, tt.file)
			}
		})
	}
	// The format is fixed by the ecosystem; spell it out once by hand.
	want := `{"signature":"` + base64.StdEncoding.EncodeToString(goldenSignature()) + `"}`
	if got, _ := (SignatureFile{Signature: goldenSignature()}).Marshal(); string(got) != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
}

func TestSignatureFileMarshalRejects(t *testing.T) {
	tests := []struct {
		name string
		file SignatureFile
	}{
		{"short signature", SignatureFile{Signature: make([]byte, 63)}},
		{"no signature", SignatureFile{}},
		{"certificate not PEM", SignatureFile{Signature: goldenSignature(), Certificate: []byte("MIIB")}},
		{"empty certificate", SignatureFile{Signature: goldenSignature(), Certificate: []byte{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.file.Marshal(); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Marshal err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestParseSignatureFileMalformed(t *testing.T) {
	certPEM := goldenCertificatePEM(t)
	sig := base64.StdEncoding.EncodeToString(goldenSignature())
	cert := base64.StdEncoding.EncodeToString(certPEM)
	b64 := base64.StdEncoding.EncodeToString
	block := func(typ string) string { return "-----BEGIN " + typ + "-----\nAAAA\n-----END " + typ + "-----\n" }
	tests := []struct {
		name  string
		input string
	}{
		{"empty", ``},
		{"not JSON", `signature=abc`},
		{"JSON array", `["` + sig + `"]`},
		{"JSON string", `"` + sig + `"`},
		{"truncated object", `{"signature":"` + sig + `"`},
		{"trailing data", `{"signature":"` + sig + `"} {}`},
		{"missing signature", `{"certificate":"` + cert + `"}`},
		{"extra field", `{"signature":"` + sig + `","algorithm":"ed25519"}`},
		{"field name in other case", `{"Signature":"` + sig + `"}`},
		{"duplicate signature", `{"signature":"` + sig + `","signature":"` + sig + `"}`},
		{"signature not a string", `{"signature":123}`},
		{"signature null", `{"signature":null}`},
		{"certificate null", `{"signature":"` + sig + `","certificate":null}`},
		{"bad base64", `{"signature":"!!!!"}`},
		{"URL-safe base64", `{"signature":"` + base64.URLEncoding.EncodeToString(append(goldenSignature()[:62], 0xfb, 0xff)) + `"}`},
		{"unpadded base64", `{"signature":"` + strings.TrimRight(sig, "=") + `"}`},
		{"base64 with line break", `{"signature":"` + sig[:40] + `\n` + sig[40:] + `"}`},
		{"63-byte signature", `{"signature":"` + b64(make([]byte, 63)) + `"}`},
		{"65-byte signature", `{"signature":"` + b64(make([]byte, 65)) + `"}`},
		{"empty certificate", `{"signature":"` + sig + `","certificate":""}`},
		{"certificate not PEM", `{"signature":"` + sig + `","certificate":"` + b64([]byte("MIIBhello")) + `"}`},
		{"certificate is a private key", `{"signature":"` + sig + `","certificate":"` + b64([]byte(block("PRIVATE KEY"))) + `"}`},
		{"two PEM blocks", `{"signature":"` + sig + `","certificate":"` + b64(append(bytes.Clone(certPEM), certPEM...)) + `"}`},
		{"text before PEM", `{"signature":"` + sig + `","certificate":"` + b64(append([]byte("hello\n"), certPEM...)) + `"}`},
		{"CERTIFICATE block with invalid DER", `{"signature":"` + sig + `","certificate":"` + b64([]byte(block("CERTIFICATE"))) + `"}`},
		{"oversize", `{"signature":"` + sig + `","certificate":"` + cert + `"}` + strings.Repeat(" ", MaxSignatureFileSize)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sf, err := ParseSignatureFile([]byte(tt.input))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseSignatureFile = %+v, %v; want ErrMalformed", sf, err)
			}
			if sf.Signature != nil || sf.Certificate != nil {
				t.Errorf("returned a partial file %+v with the error", sf)
			}
		})
	}
}

func TestParseSignatureFileAccepts(t *testing.T) {
	sig := base64.StdEncoding.EncodeToString(goldenSignature())
	cert := base64.StdEncoding.EncodeToString(goldenCertificatePEM(t))
	tests := []struct {
		name     string
		input    string
		wantCert bool
	}{
		{"compact", `{"signature":"` + sig + `","certificate":"` + cert + `"}`, true},
		{"whitespace and member order", "{\n  \"certificate\": \"" + cert + "\",\n  \"signature\": \"" + sig + "\"\n}\n", true},
		{"signature only", `{"signature":"` + sig + `"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sf, err := ParseSignatureFile([]byte(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sf.Signature, goldenSignature()) {
				t.Errorf("signature = %x", sf.Signature)
			}
			if (sf.Certificate != nil) != tt.wantCert {
				t.Errorf("certificate present = %v, want %v", sf.Certificate != nil, tt.wantCert)
			}
		})
	}
}

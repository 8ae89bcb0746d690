package chain

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// brokenBlock is a PEM block whose base64 body does not decode: pem.Decode
// skips it and returns the next good block, which a strict parser must not.
const brokenBlock = "-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n-----END CERTIFICATE-----\n"

func TestParseCertificatePEMIsStrict(t *testing.T) {
	c := newTestChain(t, testNow)
	leaf, inter := CertificatePEM(c.leaf), CertificatePEM(c.inter)
	withHeaders := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"Comment": "x"}, Bytes: c.leaf.Raw})
	tests := []struct {
		name string
		in   []byte
		want string // in the error; "" accepts
	}{
		{"one block", leaf, ""},
		{"whitespace around", append(append([]byte("\n\t "), leaf...), "\r\n\n"...), ""},
		{"empty", nil, "no PEM certificate"},
		{"only whitespace", []byte(" \n"), "no PEM certificate"},
		{"text before", append([]byte("subject=CN = leaf\n"), leaf...), "not a PEM certificate"},
		{"text after", append(bytes.Clone(leaf), "trailing garbage"...), "data after PEM block 1"},
		{"two blocks", append(bytes.Clone(leaf), inter...), "data after the PEM certificate"},
		{"wrong block type", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: c.leaf.Raw}), `PEM block is "PRIVATE KEY", want "CERTIFICATE"`},
		{"PEM headers", withHeaders, "has headers"},
		{"broken block before a good one", append([]byte(brokenBlock), leaf...), "PEM block 1 is not valid PEM"},
		{"DER that is no certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}), "malformed"},
		{"DER (not PEM)", c.leaf.Raw, "not a PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCertificatePEM(tt.in)
			if tt.want == "" {
				if err != nil || !got.Equal(c.leaf) {
					t.Fatalf("ParseCertificatePEM = %v, %v; want the leaf", got, err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseCertificatePEM error %v, want ErrMalformed with %q", err, tt.want)
			}
		})
	}
}

func TestParseCertificatesPEMKeepsOrderAndIsStrict(t *testing.T) {
	c := newTestChain(t, testNow)
	chainPEM := CertificatesPEM(c.leaf, c.inter, c.root)
	got, err := ParseCertificatesPEM(append(bytes.ReplaceAll(chainPEM, []byte("-----\n-----BEGIN"), []byte("-----\n\n \n-----BEGIN")), '\n'))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !got[0].Equal(c.leaf) || !got[1].Equal(c.inter) || !got[2].Equal(c.root) {
		t.Fatalf("parsed %d certificates, want leaf, intermediate, root in order", len(got))
	}

	keyPEM, err := MarshalPrivateKeyPEM(c.leafKey)
	if err != nil {
		t.Fatal(err)
	}
	badDER := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "no PEM certificate"},
		{"garbage between blocks", bytes.Join([][]byte{CertificatePEM(c.leaf), []byte("# a comment\n"), CertificatePEM(c.inter)}, nil), "data after PEM block 1"},
		{"trailing garbage", append(bytes.Clone(chainPEM), "x"...), "data after PEM block 3"},
		{"a key among certificates", append(CertificatePEM(c.leaf), keyPEM...), `PEM block is "PRIVATE KEY"`},
		{"broken block in the middle", bytes.Join([][]byte{CertificatePEM(c.leaf), []byte(brokenBlock), CertificatePEM(c.inter)}, nil), "PEM block 2 is not valid PEM"},
		{"second certificate unparsable", append(CertificatePEM(c.leaf), badDER...), "certificate 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCertificatesPEM(tt.in)
			if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseCertificatesPEM = %d certificates, %v; want ErrMalformed with %q", len(got), err, tt.want)
			}
		})
	}
}

func TestPrivateKeyPEMIsStrictAndNeverQuotesTheKey(t *testing.T) {
	key := newKey(t)
	keyPEM, err := MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ParsePrivateKeyPEM(keyPEM); err != nil || !got.Equal(key) {
		t.Fatalf("round trip: %v", err)
	}
	body := strings.Split(string(keyPEM), "\n")[1] // the base64 line: secret
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	c := newTestChain(t, testNow)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "no PEM private key"},
		{"text before", append([]byte("Bag Attributes\n"), keyPEM...), "not a PEM private key"},
		{"text after", append(bytes.Clone(keyPEM), "junk"...), "data after PEM block 1"},
		{"two keys", append(bytes.Clone(keyPEM), keyPEM...), "data after the PEM private key"},
		{"a certificate", CertificatePEM(c.leaf), `PEM block is "CERTIFICATE", want "PRIVATE KEY"`},
		{"legacy encrypted PEM", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}}), "has headers"},
		{"ECDSA key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}), "want Ed25519"},
		{"not PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key.Seed()}), "not a PKCS#8 private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrivateKeyPEM(tt.in)
			if err == nil || got != nil || !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParsePrivateKeyPEM error %v, want ErrInvalidKey with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), body) || strings.Contains(err.Error(), string(key.Seed())) {
				t.Fatalf("error quotes the key: %v", err)
			}
		})
	}
}

// TestPrivateKeyPEMInteropsWithOpenSSL: a key OpenSSL generates parses, and
// a key we encode is the one OpenSSL reads (same public key).
func TestPrivateKeyPEMInteropsWithOpenSSL(t *testing.T) {
	openssl := requireTool(t, "openssl")
	dir := t.TempDir()
	theirs := filepath.Join(dir, "theirs.pem")
	if out, err := exec.Command(openssl, "genpkey", "-algorithm", "ed25519", "-out", theirs).CombinedOutput(); err != nil {
		t.Fatalf("openssl genpkey: %v: %s", err, out)
	}
	b, err := os.ReadFile(theirs)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParsePrivateKeyPEM(b)
	if err != nil {
		t.Fatalf("OpenSSL's key: %v", err)
	}
	ours := filepath.Join(dir, "ours.pem")
	keyPEM, err := MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ours, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	pubOut := func(path string) []byte {
		out, err := exec.Command(openssl, "pkey", "-in", path, "-pubout", "-outform", "DER").Output()
		if err != nil {
			t.Fatalf("openssl pkey %s: %v", filepath.Base(path), err)
		}
		return out
	}
	want, err := x509.MarshalPKIXPublicKey(pubOf(key))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pubOut(theirs), want) || !bytes.Equal(pubOut(ours), want) {
		t.Fatal("OpenSSL reads another public key than ours")
	}
}

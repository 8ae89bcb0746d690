package chain

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadKeyFileSizeLimit: a key file is read up to maxKeyFileSize bytes
// and refused beyond, never silently truncated.
func TestReadKeyFileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		size int
		ok   bool
	}{
		{"at the limit", maxKeyFileSize, true},
		{"one byte over", maxKeyFileSize + 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			want := bytes.Repeat([]byte("k"), tt.size)
			if err := os.WriteFile(path, want, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readKeyFile(path)
			if tt.ok {
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("readKeyFile = %d bytes, %v; want all %d", len(got), err, tt.size)
				}
				return
			}
			if !errors.Is(err, ErrInvalidKey) || got != nil {
				t.Fatalf("readKeyFile = %d bytes, %v; want ErrInvalidKey", len(got), err)
			}
		})
	}
}

// TestEnsureDevPKIRenewalBoundary: with exactly RenewWindow left the dev
// signing certificate is kept; a nanosecond less and it is renewed.
func TestEnsureDevPKIRenewalBoundary(t *testing.T) {
	dir := t.TempDir()
	first := ensureDev(t, dir, testNow)
	at := first.Signing.NotAfter.Add(-RenewWindow)
	if got := ensureDev(t, dir, at); !got.Signing.Equal(first.Signing) {
		t.Fatal("renewed with exactly RenewWindow left")
	}
	if got := ensureDev(t, dir, at.Add(time.Nanosecond)); got.Signing.Equal(first.Signing) {
		t.Fatal("not renewed with less than RenewWindow left")
	}
}

// TestIssuerIssueSigningCert: the keystore's issuer names the certificate
// after the key and issues it from its CA, for the asked validity.
func TestIssuerIssueSigningCert(t *testing.T) {
	c := newTestChain(t, testNow)
	key := newKey(t)
	iss := Issuer{CA: c.inter, Key: c.interKey, Validity: 24 * time.Hour, Rand: rand.Reader}
	cert, err := iss.IssueSigningCert(t.Context(), "marketplace-signing", pubOf(key), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "signer marketplace-signing" {
		t.Errorf("CN = %q, want %q", cert.Subject.CommonName, "signer marketplace-signing")
	}
	if err := cert.CheckSignatureFrom(c.inter); err != nil || !cert.NotAfter.Equal(testNow.Add(24*time.Hour)) {
		t.Errorf("certificate not from the CA (%v) or NotAfter %s", err, cert.NotAfter)
	}
	if _, err := NewTrustStore(c.root, c.inter).VerifySigningCertificate(cert, testNow); err != nil {
		t.Errorf("the issued certificate is not a valid signing certificate: %v", err)
	}
}

// TestParseSignatureFileSizeLimit: a signature file is read up to
// MaxSignatureFileSize bytes, whitespace included, and refused beyond.
func TestParseSignatureFileSizeLimit(t *testing.T) {
	sig := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 64))
	padded := func(n int) []byte { // {"signature":"…" <spaces>} of n bytes
		head, tail := `{"signature":"`+sig+`"`, `}`
		return []byte(head + strings.Repeat(" ", n-len(head)-len(tail)) + tail)
	}
	if sf, err := ParseSignatureFile(padded(MaxSignatureFileSize)); err != nil || len(sf.Signature) != 64 {
		t.Errorf("ParseSignatureFile of %d bytes = %v; want the signature", MaxSignatureFileSize, err)
	}
	if _, err := ParseSignatureFile(padded(MaxSignatureFileSize + 1)); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseSignatureFile of %d bytes = %v; want ErrMalformed", MaxSignatureFileSize+1, err)
	}
}

// TestReadTrustFileSizeLimit: a trust-store file is read up to
// maxTrustFileSize bytes and refused beyond.
func TestReadTrustFileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		size int
		ok   bool
	}{
		{"at the limit", maxTrustFileSize, true},
		{"one byte over", maxTrustFileSize + 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".pem")
			if err := os.WriteFile(path, bytes.Repeat([]byte("\n"), tt.size), 0o444); err != nil {
				t.Fatal(err)
			}
			b, err := readTrustFile(path)
			if tt.ok != (err == nil) || (tt.ok && len(b) != tt.size) || (!tt.ok && !errors.Is(err, ErrMalformed)) {
				t.Fatalf("readTrustFile = %d bytes, %v; want ok %v", len(b), err, tt.ok)
			}
		})
	}
}

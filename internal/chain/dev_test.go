package chain

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func ensureDev(t *testing.T, dir string, now time.Time) *DevPKI {
	t.Helper()
	p, err := EnsureDevPKI(rand.Reader, dir, now)
	if err != nil {
		t.Fatalf("EnsureDevPKI: %v", err)
	}
	return p
}

func TestEnsureDevPKICreatesThenReuses(t *testing.T) {
	dir := t.TempDir()
	first := ensureDev(t, dir, testNow)

	for _, tc := range []struct {
		name     string
		cn       string
		notAfter time.Time
		got      string
	}{
		{"root", DevRootCN, testNow.Add(10 * 365 * 24 * time.Hour), first.Root.Subject.CommonName},
		{"intermediate", "signer dev marketplace CA", testNow.Add(5 * 365 * 24 * time.Hour), first.Intermediate.Subject.CommonName},
		{"signing", DevSigningCN, testNow.Add(365 * 24 * time.Hour), first.Signing.Subject.CommonName},
	} {
		if tc.got != tc.cn {
			t.Errorf("%s CN = %q, want %q", tc.name, tc.got, tc.cn)
		}
	}
	if !first.Signing.NotAfter.Equal(testNow.Add(DevSigningValidity)) || !first.Root.NotAfter.Equal(testNow.Add(DevRootValidity)) {
		t.Errorf("validity: signing until %v, root until %v", first.Signing.NotAfter, first.Root.NotAfter)
	}
	if !publicKeyMatches(first.Signing, first.SigningKey) {
		t.Error("signing certificate does not match SigningKey")
	}
	if first.SigningKeyPath != filepath.Join(dir, "keys", "signing.key") {
		t.Errorf("SigningKeyPath = %q", first.SigningKeyPath)
	}

	perms := map[string]os.FileMode{
		"keys":                    0o700,
		"keys/root-ca.key":        0o600,
		"keys/marketplace-ca.key": 0o600,
		"keys/signing.key":        0o600,
		"pki/root-ca.crt":         0o644,
		"pki/marketplace-ca.crt":  0o644,
		"pki/signing.crt":         0o644,
	}
	for name, want := range perms {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s mode %04o, want %04o", name, got, want)
		}
	}

	second := ensureDev(t, dir, testNow.Add(24*time.Hour))
	for _, pair := range [][2][]byte{
		{first.Root.Raw, second.Root.Raw},
		{first.Intermediate.Raw, second.Intermediate.Raw},
		{first.Signing.Raw, second.Signing.Raw},
		{first.SigningKey, second.SigningKey},
	} {
		if !bytes.Equal(pair[0], pair[1]) {
			t.Fatal("second EnsureDevPKI did not reuse the first one's keys and certificates")
		}
	}

	chain, err := parseCertificatesPEM(second.SigningChainPEM())
	if err != nil || len(chain) != 2 || !chain[0].Equal(second.Signing) || !chain[1].Equal(second.Intermediate) {
		t.Errorf("SigningChainPEM = %d certs (%v), want signing then intermediate", len(chain), err)
	}
}

func TestEnsureDevPKIRefusesExposedKeys(t *testing.T) {
	tests := []struct {
		name string
		file string
		mode os.FileMode
	}{
		{"world-readable root key", "root-ca.key", 0o644},
		{"group-readable intermediate key", "marketplace-ca.key", 0o640},
		{"world-readable signing key", "signing.key", 0o604},
		{"group-writable signing key", "signing.key", 0o620},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ensureDev(t, dir, testNow)
			if err := os.Chmod(filepath.Join(dir, "keys", tt.file), tt.mode); err != nil {
				t.Fatal(err)
			}
			_, err := EnsureDevPKI(rand.Reader, dir, testNow)
			if !errors.Is(err, ErrInsecureKeyFile) {
				t.Fatalf("err = %v, want ErrInsecureKeyFile", err)
			}
		})
	}
}

func TestEnsureDevPKIRenewsSigningCertificate(t *testing.T) {
	dir := t.TempDir()
	first := ensureDev(t, dir, testNow)
	tests := []struct {
		name    string
		now     time.Time
		renewed bool
	}{
		{"31 days left", first.Signing.NotAfter.Add(-31 * 24 * time.Hour), false},
		{"29 days left", first.Signing.NotAfter.Add(-29 * 24 * time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ensureDev(t, dir, tt.now)
			if renewed := !got.Signing.Equal(first.Signing); renewed != tt.renewed {
				t.Fatalf("renewed = %v, want %v", renewed, tt.renewed)
			}
			if !got.Root.Equal(first.Root) || !got.Intermediate.Equal(first.Intermediate) || !bytes.Equal(got.SigningKey, first.SigningKey) {
				t.Error("renewal changed the CAs or the signing key")
			}
			if tt.renewed && !got.Signing.NotAfter.Equal(tt.now.Add(DevSigningValidity)) {
				t.Errorf("renewed NotAfter = %v, want %v", got.Signing.NotAfter, tt.now.Add(DevSigningValidity))
			}
			onDisk, err := os.ReadFile(got.SigningCertPath)
			if err != nil || !bytes.Equal(onDisk, CertificatePEM(got.Signing)) {
				t.Errorf("signing.crt on disk is not the returned certificate (%v)", err)
			}
		})
	}
}

func TestEnsureDevPKIReissuesForReplacedSigningKey(t *testing.T) {
	dir := t.TempDir()
	first := ensureDev(t, dir, testNow)
	newPEM, err := marshalKeyPEM(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(first.SigningKeyPath, newPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	got := ensureDev(t, dir, testNow)
	if got.Signing.Equal(first.Signing) || !publicKeyMatches(got.Signing, got.SigningKey) {
		t.Fatal("signing certificate was not re-issued for the new key")
	}
}

func TestEnsureDevPKIFailsLoudly(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(t *testing.T, dir string)
	}{
		{"intermediate key replaced", func(t *testing.T, dir string) {
			writeKey(t, filepath.Join(dir, "keys", "marketplace-ca.key"))
		}},
		{"root key and certificate replaced by another CA", func(t *testing.T, dir string) {
			other := ensureDev(t, t.TempDir(), testNow)
			copyFile(t, other.RootCertPath, filepath.Join(dir, "pki", "root-ca.crt"))
			copyFile(t, filepath.Join(filepath.Dir(filepath.Dir(other.RootCertPath)), "keys", "root-ca.key"), filepath.Join(dir, "keys", "root-ca.key"))
		}},
		{"root key deleted", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "keys", "root-ca.key")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ensureDev(t, dir, testNow)
			tt.corrupt(t, dir)
			_, err := EnsureDevPKI(rand.Reader, dir, testNow)
			if !errors.Is(err, ErrInvalidPKI) {
				t.Fatalf("err = %v, want ErrInvalidPKI", err)
			}
		})
	}
}

func writeKey(t *testing.T, path string) {
	t.Helper()
	b, err := marshalKeyPEM(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

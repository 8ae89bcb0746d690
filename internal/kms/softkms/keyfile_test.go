package softkms_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
)

// TestKeyFileIsParsedStrictly: a key file is one PKCS#8 PEM block and
// nothing else (chain's PEM parser); whoever edits the file cannot make the
// backend load a key other than the block it shows first, and the error is
// kms.ErrInvalidKey for the backend's callers.
func TestKeyFileIsParsedStrictly(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good, err := chain.MarshalPrivateKeyPEM(priv)
	if err != nil {
		t.Fatal(err)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherPEM, err := chain.MarshalPrivateKeyPEM(other)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"text before the key", append([]byte("Bag Attributes\n    localKeyID: 01\n"), good...)},
		{"text after the key", append(bytes.Clone(good), "# comment\n"...)},
		{"a second key", append(bytes.Clone(good), otherPEM...)},
		{"a certificate block", bytes.Replace(good, []byte("PRIVATE KEY"), []byte("CERTIFICATE"), 2)},
		{"larger than any key file", append(bytes.Clone(good), bytes.Repeat([]byte(" "), 16<<10)...)},
	}
	dir := t.TempDir()
	b := softkms.New(softkms.Options{Dir: dir})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, string(rune('a'+i))+".key")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := softkms.ReadKeyFile(path); !errors.Is(err, kms.ErrInvalidKey) || !errors.Is(err, chain.ErrInvalidKey) {
				t.Errorf("ReadKeyFile error %v, want kms.ErrInvalidKey and chain.ErrInvalidKey", err)
			}
			uri := kms.NewURI(softkms.Scheme, map[string]string{"path": path})
			if s, err := b.LoadSigner(t.Context(), uri); !errors.Is(err, kms.ErrInvalidKey) {
				if s != nil {
					_ = s.Close()
				}
				t.Errorf("LoadSigner error %v, want kms.ErrInvalidKey", err)
			}
		})
	}
}

// TestOpenSSLKeyFileLoads: a key made by openssl genpkey is a valid key file.
func TestOpenSSLKeyFileLoads(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openssl is required in CI: %v", err)
		}
		t.Skip("openssl not installed")
	}
	path := filepath.Join(t.TempDir(), "openssl.key")
	if out, err := exec.Command(openssl, "genpkey", "-algorithm", "ed25519", "-out", path).CombinedOutput(); err != nil {
		t.Fatalf("openssl genpkey: %v: %s", err, out)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := softkms.ReadKeyFile(path); err != nil {
		t.Fatalf("ReadKeyFile of an OpenSSL key: %v", err)
	}
}

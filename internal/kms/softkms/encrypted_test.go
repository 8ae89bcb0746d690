package softkms_test

import (
	"crypto/ed25519"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/kmstest"
	"github.com/appsign/signer/internal/kms/softkms"
)

// testKDF keeps Argon2id cheap in tests; production uses the defaults.
var testKDF = softkms.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

const testPassphrase = "correct horse battery staple"

func writeSecret(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func encryptedBackend(t *testing.T, dir string) *softkms.Backend {
	t.Helper()
	passFile := writeSecret(t, t.TempDir(), "passphrase", testPassphrase+"\n", 0o600)
	return softkms.New(softkms.Options{Dir: dir, PassphraseFile: passFile, KDF: testKDF})
}

func TestConformanceEncrypted(t *testing.T) {
	dir := t.TempDir()
	n := 0
	kmstest.Run(t, kmstest.Harness{
		NewBackend: func(t *testing.T) kms.Backend { return encryptedBackend(t, dir) },
		NewKey: func(t *testing.T, b kms.Backend) kms.URI {
			n++
			uri, err := b.(kms.KeyCreator).CreateKey(t.Context(), kms.CreateKeyRequest{Name: fmt.Sprintf("key-%d", n)})
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(uri.Get("path"))
			if err != nil {
				t.Fatal(err)
			}
			if block, _ := pem.Decode(data); block == nil || block.Type != softkms.EncryptedPEMType {
				t.Fatalf("CreateKey with a passphrase wrote an unencrypted file")
			}
			return uri
		},
		MissingKey: kms.NewURI(softkms.Scheme, map[string]string{"path": filepath.Join(dir, "missing.key")}),
		MalformedKeys: []kms.URI{
			kms.MustParseURI("softkms:"),
			kms.MustParseURI("softkms:path=relative.key"),
		},
		Secrets: []string{testPassphrase},
	})
}

func TestPlainKeyLoadsWithPassphraseConfigured(t *testing.T) {
	dir := t.TempDir()
	uri, err := softkms.New(softkms.Options{Dir: dir}).CreateKey(t.Context(), kms.CreateKeyRequest{Name: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := encryptedBackend(t, dir).LoadSigner(t.Context(), uri)
	if err != nil {
		t.Fatalf("LoadSigner(plain key) with a passphrase: %v", err)
	}
	defer s.Close()
	if sig, err := s.SignMessage(t.Context(), []byte("m")); err != nil || !ed25519.Verify(s.Public(), []byte("m"), sig) {
		t.Fatalf("SignMessage: %v", err)
	}
}

func TestEncryptedKeyNeedsTheRightPassphrase(t *testing.T) {
	dir := t.TempDir()
	uri, err := encryptedBackend(t, dir).CreateKey(t.Context(), kms.CreateKeyRequest{Name: "enc"})
	if err != nil {
		t.Fatal(err)
	}
	secrets := t.TempDir()
	t.Setenv("SOFTKMS_TEST_PASS", "Tr0ub4dor&3")
	t.Setenv("SOFTKMS_TEST_EMPTY", "")
	for _, tc := range []struct {
		name string
		opts softkms.Options
		want error
		text string
	}{
		{"wrong passphrase", softkms.Options{PassphraseFile: writeSecret(t, secrets, "wrong", "Tr0ub4dor&3", 0o600)}, kms.ErrPermission, "wrong passphrase or corrupted key file"},
		{"wrong passphrase from env", softkms.Options{PassphraseEnv: "SOFTKMS_TEST_PASS"}, kms.ErrPermission, "wrong passphrase"},
		{"no passphrase", softkms.Options{}, kms.ErrPermission, "no passphrase configured"},
		{"readable passphrase file", softkms.Options{PassphraseFile: writeSecret(t, secrets, "open", testPassphrase, 0o644)}, kms.ErrPermission, "chmod 600"},
		{"missing passphrase file", softkms.Options{PassphraseFile: filepath.Join(secrets, "none")}, kms.ErrPermission, "does not exist"},
		{"empty passphrase file", softkms.Options{PassphraseFile: writeSecret(t, secrets, "empty", "\n", 0o600)}, kms.ErrPermission, "empty"},
		{"empty passphrase env", softkms.Options{PassphraseEnv: "SOFTKMS_TEST_EMPTY"}, kms.ErrPermission, "unset or empty"},
		{"two sources", softkms.Options{PassphraseEnv: "SOFTKMS_TEST_PASS", PassphraseFile: filepath.Join(secrets, "wrong")}, nil, "not both"},
		{"stronger minimum than the file", softkms.Options{PassphraseFile: writeSecret(t, secrets, "right", testPassphrase, 0o600)}, kms.ErrInvalidKey, "weaker than the configured minimum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if tc.name != "stronger minimum than the file" {
				opts.KDF = testKDF
			}
			_, err := softkms.New(opts).LoadSigner(t.Context(), uri)
			if err == nil {
				t.Fatal("LoadSigner succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("LoadSigner = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("LoadSigner = %q, want it to say %q", err, tc.text)
			}
			for _, secret := range []string{testPassphrase, "Tr0ub4dor&3"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error contains a passphrase: %q", err)
				}
			}
		})
	}
	t.Run("passphrase from env", func(t *testing.T) {
		t.Setenv("SOFTKMS_TEST_PASS", testPassphrase)
		s, err := softkms.New(softkms.Options{PassphraseEnv: "SOFTKMS_TEST_PASS", KDF: testKDF}).LoadSigner(t.Context(), uri)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	})
	t.Run("ReadKeyFile", func(t *testing.T) {
		if _, err := softkms.ReadKeyFile(uri.Get("path")); !errors.Is(err, kms.ErrPermission) {
			t.Errorf("ReadKeyFile(encrypted) = %v, want ErrPermission", err)
		}
	})
}

func TestDefaultKDFRoundTrip(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	data, err := softkms.EncryptPrivateKeyPEM(priv, []byte(testPassphrase), softkms.KDFParams{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "PRIVATE KEY-----\nMC4C") {
		t.Fatal("output looks like a plain PKCS#8 key")
	}
	got, err := softkms.DecryptPrivateKeyPEM(data, []byte(testPassphrase), softkms.KDFParams{})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(priv) {
		t.Fatal("decrypted key differs")
	}
}

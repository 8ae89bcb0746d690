package backends_test

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/backends"
	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/pkcs11kms/softhsmtest"
)

// TestOpenSignsWithEveryConfiguredBackend opens a software and a SoftHSM2
// backend from one section, creates a key in each through the registry
// and checks a signature from each in software.
func TestOpenSignsWithEveryConfiguredBackend(t *testing.T) {
	tok := softhsmtest.New(t)
	b := config.Backends{
		Soft:   &config.SoftBackend{Dir: t.TempDir()},
		PKCS11: &config.PKCS11Backend{Module: tok.Options.ModulePath, Token: tok.Label, PINFile: tok.Options.PINFile},
	}
	reg, err := backends.Open(t.Context(), b, nil, backends.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if got, want := reg.Schemes(), []string{"pkcs11", "softkms"}; !slices.Equal(got, want) {
		t.Fatalf("schemes %v, want %v", got, want)
	}
	for _, scheme := range reg.Schemes() {
		t.Run(scheme, func(t *testing.T) {
			be, err := reg.Backend(scheme)
			if err != nil {
				t.Fatal(err)
			}
			creator, ok := be.(kms.KeyCreator)
			if !ok {
				t.Fatalf("%s backend cannot create keys", scheme)
			}
			uri, err := creator.CreateKey(t.Context(), kms.CreateKeyRequest{Name: "backends-test", Purpose: "test"})
			if err != nil {
				t.Fatal(err)
			}
			s, err := reg.LoadSigner(t.Context(), uri)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			msg := []byte("certificate to be signed")
			sig, err := s.SignMessage(t.Context(), msg)
			if err != nil {
				t.Fatal(err)
			}
			if !ed25519.Verify(s.Public(), msg, sig) {
				t.Fatal("signature does not verify under the key's public key")
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	tok := softhsmtest.New(t)
	wrongPIN := filepath.Join(t.TempDir(), "wrong.pin")
	const secret = "wrong-pin-731946"
	if err := os.WriteFile(wrongPIN, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	soft := &config.SoftBackend{Dir: t.TempDir()}
	tests := []struct {
		name    string
		b       config.Backends
		wantErr string
		wantIs  error
	}{
		{"nothing configured", config.Backends{}, "no key backend configured", backends.ErrNone},
		{"missing module", config.Backends{Soft: soft, PKCS11: &config.PKCS11Backend{Module: "/nonexistent/libpkcs11.so", Token: tok.Label, PINFile: tok.Options.PINFile}}, "backends.pkcs11", nil},
		{"wrong PIN", config.Backends{Soft: soft, PKCS11: &config.PKCS11Backend{Module: tok.Options.ModulePath, Token: tok.Label, PINFile: wrongPIN}}, "backends.pkcs11", nil},
		{"unknown token", config.Backends{PKCS11: &config.PKCS11Backend{Module: tok.Options.ModulePath, Token: "no-such-token", PINFile: tok.Options.PINFile}}, "no-such-token", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := backends.Open(t.Context(), tt.b, nil, backends.Hooks{})
			if err == nil {
				reg.Close()
				t.Fatalf("opened; want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), tok.UserPIN) {
				t.Fatalf("error echoes a PIN: %v", err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("error %v does not wrap %v", err, tt.wantIs)
			}
		})
	}
}

package kms_test

import (
	"crypto"
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
)

// TestCryptoSignerOptions: the crypto.Signer adapter (what x509 uses to
// issue certificates and CRLs with a backend key) signs pure Ed25519 only,
// whatever form the options come in; Ed25519ph and Ed25519ctx are refused
// rather than silently signed as pure.
func TestCryptoSignerOptions(t *testing.T) {
	b := softkms.New(softkms.Options{Dir: t.TempDir()})
	uri, err := b.CreateKey(t.Context(), kms.CreateKeyRequest{Name: "ca"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.LoadSigner(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	cs := kms.CryptoSigner(t.Context(), kms.Verified(s, nil))
	msg := []byte("tbsCertificate")
	tests := []struct {
		name string
		opts crypto.SignerOpts
		ok   bool
	}{
		{"nil options", nil, true},
		{"crypto.Hash(0), as x509 passes", crypto.Hash(0), true},
		{"empty ed25519.Options", &ed25519.Options{}, true},
		{"SHA-512 prehash", crypto.SHA512, false},
		{"ed25519.Options for Ed25519ph", &ed25519.Options{Hash: crypto.SHA512}, false},
		{"ed25519.Options with a context", &ed25519.Options{Context: "ctx"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := cs.Sign(nil, msg, tt.opts)
			if !tt.ok {
				if err == nil || sig != nil {
					t.Fatalf("Sign = %x, %v; want an error", sig, err)
				}
				return
			}
			if err != nil || !ed25519.Verify(s.Public(), msg, sig) {
				t.Fatalf("Sign = %x, %v; want a pure Ed25519 signature", sig, err)
			}
		})
	}
	if _, err := cs.Sign(nil, msg, crypto.SHA512); !errors.Is(err, kms.ErrUnsupported) {
		t.Errorf("prehashed Sign = %v, want ErrUnsupported", err)
	}
}

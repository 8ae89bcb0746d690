package chain

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
	"time"
)

func TestNewCustomSigningCertificateRejectsBadRequests(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		key      crypto.Signer
		cn       string
		now      time.Time
		validity time.Duration
		want     error
	}{
		{"no key", nil, "acme", testNow, time.Hour, ErrInvalidKey},
		{"ECDSA key", ecKey, "acme", testNow, time.Hour, ErrInvalidKey},
		{"empty name", newKey(t), "", testNow, time.Hour, nil},
		{"zero validity", newKey(t), "acme", testNow, 0, nil},
		{"zero time", newKey(t), "acme", time.Time{}, time.Hour, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := NewCustomSigningCertificate(rand.Reader, tt.key, tt.cn, tt.now, tt.validity)
			if err == nil || cert != nil {
				t.Fatalf("NewCustomSigningCertificate = %v, %v; want an error", cert, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestCustomSigningCertificateIsTrustedDirectly: once the custom-app
// certificate is in the trust store, a signature file without a certificate
// made with its key verifies, with no CA involved.
func TestCustomSigningCertificateIsTrustedDirectly(t *testing.T) {
	key := newKey(t)
	cert, err := NewCustomSigningCertificate(rand.Reader, key, "acme custom apps", testNow, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if cert.IsCA || !cert.NotBefore.Equal(testNow.Add(-Backdate)) || !cert.NotAfter.Equal(testNow.Add(24*time.Hour)) {
		t.Fatalf("CA=%v validity %s..%s, want a leaf valid from now-%s for 24h", cert.IsCA, cert.NotBefore, cert.NotAfter, Backdate)
	}
	archive := []byte("PK\x03\x04 custom app")
	sf := SignatureFile{Signature: ed25519.Sign(key, archive)}
	res, err := NewTrustStore(cert).Verify(t.Context(), sf, bytes.NewReader(archive), testNow)
	if err != nil {
		t.Fatalf("custom certificate in the trust store: %v", err)
	}
	if !res.FromTrustStore || !res.Certificate.Equal(cert) {
		t.Fatalf("verified by %v (from trust store %v), want the custom certificate", res.Certificate.Subject, res.FromTrustStore)
	}
}

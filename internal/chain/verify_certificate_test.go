package chain

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"testing"
	"time"
)

func TestVerifySigningCertificate(t *testing.T) {
	c := newTestChain(t, testNow)
	foreign := newTestChain(t, testNow)
	store := NewTrustStore(c.root, c.inter)
	otherKey := newKey(t)
	serverAuth := craftCert(t, leafTemplate(testNow, time.Hour, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}), c.inter, pubOf(otherKey), c.interKey)
	noEKU := craftCert(t, leafTemplate(testNow, time.Hour, nil), c.inter, pubOf(otherKey), c.interKey)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecLeaf := craftCert(t, leafTemplate(testNow, time.Hour, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}), c.inter, &ecKey.PublicKey, c.interKey)

	tests := []struct {
		name    string
		store   *TrustStore
		cert    *x509.Certificate
		now     time.Time
		wantErr error // nil: trusted
	}{
		{"valid", store, c.leaf, testNow, nil},
		{"valid without EKU extension", store, noEKU, testNow, nil},
		{"no certificate", store, nil, testNow, ErrMalformed},
		{"nil trust store", nil, c.leaf, testNow, ErrUntrusted},
		{"empty trust store", &TrustStore{}, c.leaf, testNow, ErrUntrusted},
		{"unknown root", store, foreign.leaf, testNow, ErrUntrusted},
		{"no intermediate", NewTrustStore(c.root), c.leaf, testNow, ErrUntrusted},
		{"expired", store, c.leaf, c.leaf.NotAfter.Add(time.Second), ErrExpired},
		{"not yet valid", store, c.leaf, c.leaf.NotBefore.Add(-time.Second), ErrExpired},
		{"CA certificate", store, c.inter, testNow, ErrUntrusted},
		{"server-auth EKU", store, serverAuth, testNow, ErrUntrusted},
		{"ECDSA key", store, ecLeaf, testNow, ErrUntrusted},
	}
	sentinels := []error{ErrMalformed, ErrUntrusted, ErrExpired}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, err := tt.store.VerifySigningCertificate(tt.cert, tt.now)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("VerifySigningCertificate: %v", err)
				}
				if len(path) != 3 || !path[0].Equal(tt.cert) || !path[1].Equal(c.inter) || !path[2].Equal(c.root) {
					t.Fatalf("path has %d certificates, want leaf, intermediate, root", len(path))
				}
				return
			}
			if err == nil || path != nil {
				t.Fatalf("VerifySigningCertificate = %d certificates, %v; want %v", len(path), err, tt.wantErr)
			}
			for _, s := range sentinels {
				if got, want := errors.Is(err, s), s == tt.wantErr; got != want {
					t.Errorf("errors.Is(%q, %v) = %v, want %v", err, s, got, want)
				}
			}
		})
	}
}

package kms_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
)

func TestCryptoSignerIssuesCertificate(t *testing.T) {
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
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, cs.Public(), cs)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		t.Fatalf("self-signed certificate does not verify: %v", err)
	}
	if _, err := cs.Sign(rand.Reader, make([]byte, 64), crypto.SHA512); !errors.Is(err, kms.ErrUnsupported) {
		t.Fatalf("prehashed Sign = %v, want ErrUnsupported", err)
	}
	if !cs.Public().(ed25519.PublicKey).Equal(s.Public()) {
		t.Fatal("public key differs")
	}
}

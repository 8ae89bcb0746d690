package server

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"time"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/revocationstore"
)

// Defaults of TrustService.
const (
	// DefaultNextUpdate is how long a revocation list or CRL stays fresh
	// when the request names no duration.
	DefaultNextUpdate = 7 * 24 * time.Hour
	// DefaultVendorValidity and MaxVendorValidity bound private-build
	// certificates: short-lived, so a vendor key that leaks stops
	// verifying soon even where no revocation data reaches.
	DefaultVendorValidity = 7 * 24 * time.Hour
	MaxVendorValidity     = 30 * 24 * time.Hour
)

// CA is a certificate authority whose key the service can use: to issue
// its CRLs, and (the private-build CA) vendor certificates.
type CA struct {
	// Name is how requests name it: "root", "marketplace", "private-build".
	Name   string
	Cert   *x509.Certificate
	Signer kms.Signer
}

// TrustAdmin configures TrustService: revocation, revocation lists, CRLs
// and private-build certificates.
type TrustAdmin struct {
	Store *revocationstore.Store
	// ListIssuer names the revocation list's publisher, e.g. "appsign marketplace".
	ListIssuer string
	// ListSigner signs revocation lists; ListSignerCert is its certificate
	// (revocation-signing policy, or the root itself).
	ListSigner     kms.Signer
	ListSignerCert *x509.Certificate
	// CAs can issue CRLs; one named "private-build" issues vendor certificates.
	CAs []CA
	// Rand supplies certificate serial numbers.
	Rand io.Reader
}

func (t *TrustAdmin) ca(name string) (CA, bool) {
	for _, c := range t.CAs {
		if c.Name == name {
			return c, true
		}
	}
	return CA{}, false
}

func (t *TrustAdmin) check() error {
	if t.Store == nil || t.ListSigner == nil || t.ListSignerCert == nil || t.ListIssuer == "" || t.Rand == nil {
		return errors.New("server: trust admin needs a store, a list issuer, a list signer with its certificate and a randomness source")
	}
	for _, c := range t.CAs {
		if c.Name == "" || c.Cert == nil || c.Signer == nil || !bytes.Equal(c.Cert.RawSubjectPublicKeyInfo, spki(c.Signer)) {
			return errors.New("server: trust admin: each CA needs a name, a certificate and the certificate's key")
		}
	}
	return nil
}

func spki(s kms.Signer) []byte {
	der, _ := x509.MarshalPKIXPublicKey(s.Public())
	return der
}

// trustService implements signerv1.TrustServiceServer.
type trustService struct {
	signerv1.UnimplementedTrustServiceServer
	cfg   *Config
	admin *TrustAdmin
}

// caller names the request's identity for the records.
func (s *trustService) caller(ctx context.Context) string { return s.cfg.Caller(ctx) }

package server

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"fmt"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
)

// SigningKey is a key the service signs archives with, and its certificate.
type SigningKey struct {
	// ID names the key (stable across versions), e.g. "marketplace-signing".
	ID string
	// Version is the key version; each rotation adds one.
	Version int32
	// Signer holds the private key (in whatever backend).
	Signer kms.Signer
	// Cert is the signing certificate for Signer's public key.
	Cert *x509.Certificate
}

// CertPEM returns the certificate in PEM form.
func (k *SigningKey) CertPEM() []byte {
	return chain.CertificatePEM(k.Cert)
}

// Check verifies that the certificate belongs to the signer's key.
func (k *SigningKey) Check() error {
	pub, ok := k.Cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return fmt.Errorf("server: key %s v%d: certificate key is %T, want Ed25519", k.ID, k.Version, k.Cert.PublicKey)
	}
	if !pub.Equal(k.Signer.Public()) {
		return fmt.Errorf("server: key %s v%d: certificate %x does not belong to the signing key", k.ID, k.Version, k.Cert.SerialNumber)
	}
	return nil
}

// KeySource supplies signing keys. Rotation changes what Active returns
// atomically; Lookup still finds retired versions so idempotent replays
// return the certificate the original signature was made under.
type KeySource interface {
	Active(ctx context.Context) (*SigningKey, error)
	Lookup(ctx context.Context, id string, version int32) (*SigningKey, error)
}

// serialHex is the certificate serial as the ledger stores it: lowercase
// hex of the serial's bytes, the form chain.Result.Serial reports.
func serialHex(c *x509.Certificate) string { return hex.EncodeToString(c.SerialNumber.Bytes()) }

package chain

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"io"
	"time"
)

// Issuer issues signing certificates from one intermediate CA whose key may
// live in any backend (wrap a kms.Signer with kms.CryptoSigner). It is what
// the keystore calls on every key creation and rotation.
type Issuer struct {
	// CA is the issuing (intermediate) CA certificate.
	CA *x509.Certificate
	// Key is the CA's private key.
	Key crypto.Signer
	// Validity of issued certificates; capped at the CA's own NotAfter.
	Validity time.Duration
	// Rand is the entropy for serial numbers.
	Rand io.Reader
}

// IssueSigningCert issues a code-signing certificate for pub, named after
// the key.
func (i Issuer) IssueSigningCert(_ context.Context, keyName string, pub ed25519.PublicKey, now time.Time) (*x509.Certificate, error) {
	return NewSigningCertificate(i.Rand, i.CA, i.Key, pub, "signer "+keyName, now, i.Validity)
}

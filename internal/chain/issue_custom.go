package chain

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"time"
)

// NewCustomSigningCertificate issues the custom-app profile: a self-signed,
// non-CA Ed25519 certificate for key, with digitalSignature and code
// signing, that a customer installs in its own trust stores and that is
// trusted directly, like a root. Its subject is the common name alone (it
// is the customer's, not the signer service's) and it carries no key
// identifiers.
func NewCustomSigningCertificate(rand io.Reader, key crypto.Signer, cn string, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	const what = "custom signing certificate"
	pub, err := ed25519Signer(key)
	if err != nil {
		return nil, fmt.Errorf("chain: issue %s: %w", what, err)
	}
	tmpl, err := baseTemplate(rand, pub, pkix.Name{CommonName: cn}, now, validity)
	if err != nil {
		return nil, fmt.Errorf("chain: issue %s: %w", what, err)
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	return create(rand, tmpl, tmpl, pub, key, what)
}

package revocation

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/appsign/signer/internal/chain"
)

// PolicyArc is the OID arc under which the signer service names what a
// trust-metadata signing certificate may sign (chain.PolicyArc).
const PolicyArc = chain.PolicyArc

// RevocationSigningPolicy is the certificate policy OID that lets a
// certificate sign revocation lists (PolicyArc.2).
func RevocationSigningPolicy() x509.OID { return mustOID(PolicyArc + ".2") }

func mustOID(s string) x509.OID {
	oid, err := x509.ParseOID(s)
	if err != nil {
		panic("revocation: bad built-in OID " + s)
	}
	return oid
}

// NewSignerCertificate issues a trust-metadata signing certificate for pub
// under parent for one purpose: RevocationSigningPolicy, or
// bundle.SigningPolicy for trust bundle manifests. The profile is
// chain.NewTrustSignerCertificate's (internal/chain owns certificate
// issuance); it is named here because this package verifies it
// (VerifySignerCertificate).
func NewSignerCertificate(rand io.Reader, parent *x509.Certificate, parentKey crypto.Signer, pub ed25519.PublicKey, cn string, purpose x509.OID, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	return chain.NewTrustSignerCertificate(rand, parent, parentKey, pub, cn, purpose, now, validity)
}

// VerifySignerCertificate decides whether cert may sign trust metadata for
// purpose at now. It may if cert is byte for byte one of roots (the root
// key signs directly), or if it is a non-CA Ed25519 certificate with
// digitalSignature, the purpose among its certificate policies, no code
// signing or any extended key usage, and a PKIX path to one of roots
// through intermediates. It returns the path, cert first.
//
// Errors wrap ErrUntrusted or ErrExpired (cert, or a CA on its path, is
// outside its validity at now).
func VerifySignerCertificate(cert *x509.Certificate, purpose x509.OID, roots, intermediates []*x509.Certificate, now time.Time) ([]*x509.Certificate, error) {
	if cert == nil {
		return nil, fmt.Errorf("%w: no signer certificate", ErrUntrusted)
	}
	if _, ok := cert.PublicKey.(ed25519.PublicKey); !ok {
		return nil, fmt.Errorf("%w: %q has a %s key, want Ed25519", ErrUntrusted, cert.Subject, cert.PublicKeyAlgorithm)
	}
	if err := validity(cert, now); err != nil {
		return nil, err
	}
	for _, r := range roots {
		if r != nil && bytes.Equal(r.Raw, cert.Raw) {
			return []*x509.Certificate{cert}, nil
		}
	}
	switch {
	case cert.IsCA:
		return nil, fmt.Errorf("%w: %q is a CA certificate but not a trusted root", ErrUntrusted, cert.Subject)
	case cert.KeyUsage&x509.KeyUsageDigitalSignature == 0:
		return nil, fmt.Errorf("%w: %q key usage does not allow digital signatures", ErrUntrusted, cert.Subject)
	case !slices.ContainsFunc(cert.Policies, purpose.Equal):
		return nil, fmt.Errorf("%w: %q lacks certificate policy %s for this purpose", ErrUntrusted, cert.Subject, purpose)
	case slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageCodeSigning) || slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageAny):
		return nil, fmt.Errorf("%w: %q is also valid for code signing; trust metadata needs a dedicated key", ErrUntrusted, cert.Subject)
	}
	rootPool, interPool := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range roots {
		if c != nil {
			rootPool.AddCert(c)
		}
	}
	for _, c := range intermediates {
		if c != nil {
			interPool.AddCert(c)
		}
	}
	chains, err := cert.Verify(x509.VerifyOptions{
		Roots:         rootPool,
		Intermediates: interPool,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return nil, fmt.Errorf("%w: %v", ErrExpired, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %q: %v", ErrUntrusted, cert.Subject, err)
	}
	return chains[0], nil
}

func validity(c *x509.Certificate, now time.Time) error {
	switch {
	case now.After(c.NotAfter):
		return fmt.Errorf("%w: %q expired at %s", ErrExpired, c.Subject, c.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(c.NotBefore):
		return fmt.Errorf("%w: %q is not valid before %s", ErrExpired, c.Subject, c.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

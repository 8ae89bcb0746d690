package revocation

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"time"
)

// PolicyArc is the OID arc (a UUID OID, ITU-T X.667) under which the
// signer service names what a trust-metadata signing certificate may sign.
// Purposes are certificate policies rather than extended key usages
// because Go's x509 cannot parse an extended key usage with an arc this
// large.
const PolicyArc = "2.25.295465786072241152305637901735596287484"

// RevocationSigningPolicy is the certificate policy OID that lets a
// certificate sign revocation lists (PolicyArc.2).
func RevocationSigningPolicy() x509.OID { return mustOID(PolicyArc + ".2") }

// oidDocumentSigning is id-kp-documentSigning (RFC 9336): what other tools
// see as the certificate's extended key usage. It is not code signing, so
// a trust-metadata key can never sign apps and an app-signing key can
// never sign trust metadata.
var oidDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}

func mustOID(s string) x509.OID {
	oid, err := x509.ParseOID(s)
	if err != nil {
		panic("revocation: bad built-in OID " + s)
	}
	return oid
}

// NewSignerCertificate issues a trust-metadata signing certificate for pub,
// signed by parentKey as parent (a root or intermediate CA), for one
// purpose: RevocationSigningPolicy, or bundle.SigningPolicy for trust
// bundle manifests. The certificate is a non-CA Ed25519 certificate with
// digitalSignature, extended key usage id-kp-documentSigning and the
// purpose as its only certificate policy. NotAfter is capped at the
// parent's. The result is checked against the parent before it is
// returned, because parentKey may be a remote key.
func NewSignerCertificate(rand io.Reader, parent *x509.Certificate, parentKey crypto.Signer, pub ed25519.PublicKey, cn string, purpose x509.OID, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	switch {
	case parent == nil || parentKey == nil:
		return nil, errors.New("revocation: issue signer certificate: no issuer certificate or key")
	case !parent.IsCA || parent.KeyUsage&x509.KeyUsageCertSign == 0:
		return nil, fmt.Errorf("revocation: issue signer certificate: issuer %q is not a CA", parent.Subject)
	case len(pub) != ed25519.PublicKeySize:
		return nil, errors.New("revocation: issue signer certificate: subject key is not Ed25519")
	case cn == "" || validity <= 0 || now.IsZero():
		return nil, errors.New("revocation: issue signer certificate: empty name, zero time or non-positive validity")
	}
	if pp, ok := parent.PublicKey.(ed25519.PublicKey); !ok || !bytes.Equal(pp, pubOf(parentKey)) {
		return nil, fmt.Errorf("revocation: issue signer certificate: key does not match issuer %q", parent.Subject)
	}
	serial, err := randomSerial(rand)
	if err != nil {
		return nil, fmt.Errorf("revocation: issue signer certificate: %w", err)
	}
	notAfter := now.Add(validity).UTC().Truncate(time.Second)
	if notAfter.After(parent.NotAfter) {
		notAfter = parent.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: parent.Subject.Organization},
		NotBefore:             now.Add(-5 * time.Minute).UTC().Truncate(time.Second),
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		UnknownExtKeyUsage:    []asn1.ObjectIdentifier{oidDocumentSigning},
		Policies:              []x509.OID{purpose},
	}
	der, err := x509.CreateCertificate(rand, tmpl, parent, pub, parentKey)
	if err != nil {
		return nil, fmt.Errorf("revocation: issue signer certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("revocation: issue signer certificate: parse result: %w", err)
	}
	if err := cert.CheckSignatureFrom(parent); err != nil {
		return nil, fmt.Errorf("revocation: issue signer certificate: result does not verify under issuer: %w", err)
	}
	return cert, nil
}

func pubOf(s crypto.Signer) ed25519.PublicKey {
	pub, _ := s.Public().(ed25519.PublicKey)
	return pub
}

func randomSerial(rand io.Reader) (*big.Int, error) {
	if rand == nil {
		return nil, errors.New("no randomness source")
	}
	buf := make([]byte, 16)
	if _, err := io.ReadFull(rand, buf); err != nil {
		return nil, fmt.Errorf("generate serial: %w", err)
	}
	buf[0] &= 0x7f
	buf[0] |= 0x40 // never zero, always 16 octets
	return new(big.Int).SetBytes(buf), nil
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

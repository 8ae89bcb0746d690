package chain

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"time"
)

// Organization is the subject organization of every certificate issued here.
const Organization = "signer"

// Backdate is subtracted from the issuing time to form NotBefore, so that
// verifiers with a slightly slow clock accept a freshly issued certificate.
const Backdate = 5 * time.Minute

// NewRootCA issues a self-signed root CA certificate for signer's key.
// The key must be Ed25519; it may live in a KMS or HSM. The root may issue
// one level of intermediate CAs (MaxPathLen 1). The certificate's validity
// starts Backdate before now and ends validity after now.
func NewRootCA(rand io.Reader, signer crypto.Signer, cn string, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	pub, err := ed25519Signer(signer)
	if err != nil {
		return nil, fmt.Errorf("chain: issue root CA: %w", err)
	}
	tmpl, err := template(rand, pub, cn, now, validity)
	if err != nil {
		return nil, fmt.Errorf("chain: issue root CA: %w", err)
	}
	tmpl.IsCA = true
	tmpl.MaxPathLen = 1
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	tmpl.AuthorityKeyId = tmpl.SubjectKeyId
	return create(rand, tmpl, tmpl, pub, signer, "root CA")
}

// NewIntermediateCA issues an intermediate CA certificate for pub, signed by
// parentKey as parent. The intermediate may only issue leaf certificates
// (MaxPathLen 0). NotAfter is capped at the parent's NotAfter.
func NewIntermediateCA(rand io.Reader, parent *x509.Certificate, parentKey crypto.Signer, pub ed25519.PublicKey, cn string, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	return issueUnder(rand, parent, parentKey, pub, cn, now, validity, "intermediate CA", true, subCA(nil))
}

// NewSigningCertificate issues a code-signing leaf certificate for pub,
// signed by parentKey as parent. NotAfter is capped at the parent's NotAfter.
func NewSigningCertificate(rand io.Reader, parent *x509.Certificate, parentKey crypto.Signer, pub ed25519.PublicKey, cn string, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	return issueUnder(rand, parent, parentKey, pub, cn, now, validity, "signing certificate", false, func(tmpl *x509.Certificate) error {
		codeSigning(tmpl)
		return nil
	})
}

// issueUnder issues the profile what for pub under parent: it checks that
// parent and parentKey may issue it (a CA certificate when issuingCA),
// fills template, lets profile set the rest (or refuse), caps NotAfter at
// the parent's and signs.
func issueUnder(rand io.Reader, parent *x509.Certificate, parentKey crypto.Signer, pub ed25519.PublicKey, cn string, now time.Time, validity time.Duration,
	what string, issuingCA bool, profile func(*x509.Certificate) error) (*x509.Certificate, error) {
	if err := checkIssuer(parent, parentKey, issuingCA); err != nil {
		return nil, fmt.Errorf("chain: issue %s: %w", what, err)
	}
	tmpl, err := template(rand, pub, cn, now, validity)
	if err != nil {
		return nil, fmt.Errorf("chain: issue %s: %w", what, err)
	}
	if err := profile(tmpl); err != nil {
		return nil, fmt.Errorf("chain: issue %s: %w", what, err)
	}
	capNotAfter(tmpl, parent)
	return create(rand, tmpl, parent, pub, parentKey, what)
}

// subCA is the profile of a CA under the root that may only issue leaf
// certificates (MaxPathLen 0), under policies if any.
func subCA(policies []x509.OID) func(*x509.Certificate) error {
	return func(tmpl *x509.Certificate) error {
		tmpl.IsCA = true
		tmpl.MaxPathLen = 0
		tmpl.MaxPathLenZero = true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		tmpl.Policies = policies
		return nil
	}
}

// codeSigning makes tmpl a leaf for signing apps.
func codeSigning(tmpl *x509.Certificate) {
	tmpl.IsCA = false
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
}

// template returns the fields common to the profiles of the signer's own
// PKI: subject organization Organization and an RFC 7093 subject key
// identifier.
func template(rand io.Reader, pub ed25519.PublicKey, cn string, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	tmpl, err := baseTemplate(rand, pub, pkix.Name{CommonName: cn, Organization: []string{Organization}}, now, validity)
	if err != nil {
		return nil, err
	}
	tmpl.SubjectKeyId = keyID(pub)
	return tmpl, nil
}

// baseTemplate returns the fields common to every profile: a fresh serial,
// the subject, a validity of Backdate before now to validity after now
// (whole seconds, UTC) and basic constraints. The profile adds the rest.
func baseTemplate(rand io.Reader, pub ed25519.PublicKey, subject pkix.Name, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: subject key is %d bytes, want Ed25519 (%d)", ErrInvalidKey, len(pub), ed25519.PublicKeySize)
	}
	if subject.CommonName == "" {
		return nil, errors.New("empty common name")
	}
	if validity <= 0 {
		return nil, fmt.Errorf("validity %s is not positive", validity)
	}
	if now.IsZero() {
		return nil, errors.New("issuing time is zero")
	}
	serial, err := newSerial(rand)
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             now.Add(-Backdate).UTC().Truncate(time.Second),
		NotAfter:              now.Add(validity).UTC().Truncate(time.Second),
		BasicConstraintsValid: true,
	}, nil
}

// keyID is the RFC 7093 section 2 method 1 key identifier: the leftmost
// 160 bits of the SHA-256 of the subjectPublicKey bits, which for Ed25519
// are the 32 raw public key bytes.
func keyID(pub ed25519.PublicKey) []byte {
	sum := sha256.Sum256(pub)
	return sum[:20]
}

// ed25519Signer returns the public key of a self-signing key, which must be
// Ed25519.
func ed25519Signer(key crypto.Signer) (ed25519.PublicKey, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: no signer", ErrInvalidKey)
	}
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: key is %T, want Ed25519", ErrInvalidKey, key.Public())
	}
	return pub, nil
}

// checkIssuer refuses a parent that cannot issue the requested profile, or
// a parentKey that is not the parent's key (the result would never verify).
func checkIssuer(parent *x509.Certificate, parentKey crypto.Signer, issuingCA bool) error {
	if parent == nil || parentKey == nil {
		return fmt.Errorf("%w: no issuer certificate or key", ErrInvalidKey)
	}
	if !parent.IsCA || parent.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("issuer %q is not a CA allowed to sign certificates", parent.Subject.CommonName)
	}
	if issuingCA && parent.MaxPathLen == 0 && parent.MaxPathLenZero {
		return fmt.Errorf("issuer %q may not issue CA certificates (path length 0)", parent.Subject.CommonName)
	}
	parentPub, ok := parent.PublicKey.(ed25519.PublicKey)
	if !ok {
		return fmt.Errorf("%w: issuer %q key is %T, want Ed25519", ErrInvalidKey, parent.Subject.CommonName, parent.PublicKey)
	}
	signerPub, ok := parentKey.Public().(ed25519.PublicKey)
	if !ok || !bytes.Equal(parentPub, signerPub) {
		return fmt.Errorf("%w: signing key does not match issuer %q certificate", ErrInvalidKey, parent.Subject.CommonName)
	}
	return nil
}

// capNotAfter keeps a child from outliving its issuer.
func capNotAfter(tmpl, parent *x509.Certificate) {
	if tmpl.NotAfter.After(parent.NotAfter) {
		tmpl.NotAfter = parent.NotAfter
	}
}

// create signs tmpl and checks the result against the issuer's certificate,
// because a remote signer (KMS, HSM) is only trusted after its output has
// been verified in software.
func create(rand io.Reader, tmpl, parent *x509.Certificate, pub ed25519.PublicKey, key crypto.Signer, what string) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand, tmpl, parent, pub, key)
	if err != nil {
		return nil, fmt.Errorf("chain: issue %s: %w", what, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("chain: issue %s: parse result: %w", what, err)
	}
	switch {
	case tmpl != parent:
		err = cert.CheckSignatureFrom(parent)
	case cert.IsCA:
		err = cert.CheckSignatureFrom(cert)
	default:
		// A self-signed leaf is no CA, so CheckSignatureFrom would refuse
		// it as its own issuer; check the signature alone.
		err = cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature)
	}
	if err != nil {
		return nil, fmt.Errorf("chain: issue %s: result does not verify under issuer: %w", what, err)
	}
	return cert, nil
}

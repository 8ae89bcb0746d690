package chain

import (
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/asn1"
	"io"
	"time"
)

// PolicyArc is the OID arc (a UUID OID, ITU-T X.667) under which the
// signer service names what a certificate may be used for: .1 signs trust
// bundle manifests, .2 revocation lists, .3 is the private-build policy.
// Purposes are certificate policies rather than extended key usages
// because Go's x509 cannot parse an extended key usage with an arc this
// large.
const PolicyArc = "2.25.295465786072241152305637901735596287484"

// oidDocumentSigning is id-kp-documentSigning (RFC 9336): what other tools
// see as a trust-metadata signer's extended key usage. It is not code
// signing, so a trust-metadata key can never sign apps and an app-signing
// key can never sign trust metadata.
var oidDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}

// NewTrustSignerCertificate issues a trust-metadata signing certificate
// for pub, signed by parentKey as parent (a root or intermediate CA), for
// one purpose: a certificate policy under PolicyArc (revocation lists or
// trust-bundle manifests). The certificate is a non-CA Ed25519 certificate
// with digitalSignature, extended key usage id-kp-documentSigning and the
// purpose as its only certificate policy; its subject organization is the
// parent's and, unlike the code-signing profiles, it carries no subject key
// identifier. NotAfter is capped at the parent's. The result is checked
// against the parent before it is returned, because parentKey may be a
// remote key.
func NewTrustSignerCertificate(rand io.Reader, parent *x509.Certificate, parentKey crypto.Signer, pub ed25519.PublicKey, cn string, purpose x509.OID, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	return issueUnder(rand, parent, parentKey, pub, cn, now, validity, "trust-metadata signer certificate", false, func(tmpl *x509.Certificate) error {
		tmpl.Subject.Organization = parent.Subject.Organization
		tmpl.SubjectKeyId = nil // the profile has never had one
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.UnknownExtKeyUsage = []asn1.ObjectIdentifier{oidDocumentSigning}
		tmpl.Policies = []x509.OID{purpose}
		return nil
	})
}

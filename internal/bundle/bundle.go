package bundle

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/revocation"
)

// Format is the format identifier of a v1 manifest.
const Format = "appsign.dev/trust-bundle/v1"

// Fixed file names of a bundle directory.
const (
	ManifestFile       = "manifest.json"
	SignatureFile      = "manifest.sig"
	SignerFile         = "manifest-signer.pem"
	SHA256SumsFile     = "SHA256SUMS"
	SHA512SumsFile     = "SHA512SUMS"
	RevocationListFile = "revocation.json"
)

// Roles of the files a manifest lists.
const (
	RoleRoot           = chain.RoleRoot
	RoleIntermediate   = chain.RoleIntermediate
	RoleSigner         = "manifest-signer"
	RoleRevocationList = "revocation-list"
	RoleCRL            = "crl"
)

// ExpiryWarning is how far ahead expiring certificates are reported: the
// ecosystem warns operators 30 days ahead.
const ExpiryWarning = chain.RenewWindow

// Bundle is what Export publishes.
type Bundle struct {
	// Version must grow with every bundle; installs refuse a lower one.
	Version uint64
	// Roots are self-signed root CA certificates.
	Roots []*x509.Certificate
	// Intermediates are CA certificates issued by Roots (or each other).
	// One that is not yet valid may ship ahead of a rotation.
	Intermediates []*x509.Certificate
	// SignerCertificate is the certificate of the key that signs the
	// manifest: one of Roots (the root key signs), or a certificate from
	// NewSignerCertificate that chains to one of Roots.
	SignerCertificate *x509.Certificate
	// RevocationList is an optional signed list from revocation.Sign; it
	// must verify with revocation.VerifyTrusted against Roots.
	RevocationList []byte
	// CRLs are optional DER CRLs, each signed by a CA of the bundle.
	CRLs [][]byte
}

// SigningPolicy is the certificate policy OID that lets a certificate
// sign trust-bundle manifests (revocation.PolicyArc + ".1").
func SigningPolicy() x509.OID {
	oid, err := x509.ParseOID(revocation.PolicyArc + ".1")
	if err != nil {
		panic("bundle: bad built-in OID")
	}
	return oid
}

// NewSignerCertificate issues a bundle-signing certificate for pub under
// parent (normally the root CA, whose key may live in a KMS that cannot
// sign a large manifest itself). See revocation.NewSignerCertificate for
// the profile.
func NewSignerCertificate(rand io.Reader, parent *x509.Certificate, parentKey crypto.Signer, pub ed25519.PublicKey, cn string, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	c, err := revocation.NewSignerCertificate(rand, parent, parentKey, pub, cn, SigningPolicy(), now, validity)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return c, nil
}

// Fingerprint returns the lowercase hex SHA-256 of c's DER encoding, the
// value `openssl x509 -noout -fingerprint -sha256` prints (without
// colons). Publish the root's fingerprint out of band for first installs.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// ParseFingerprint normalizes a SHA-256 certificate fingerprint as people
// copy it: with or without colons, any case, optionally prefixed with
// "sha256:" or openssl's "SHA256 Fingerprint=".
func ParseFingerprint(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, prefix := range []string{"sha256 fingerprint=", "sha256:"} {
		s = strings.TrimPrefix(s, prefix)
	}
	s = strings.ReplaceAll(s, ":", "")
	if b, err := hex.DecodeString(s); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("bundle: fingerprint: %w: want 64 hex digits (SHA-256 of the certificate)", ErrInvalidBundle)
	}
	return s, nil
}

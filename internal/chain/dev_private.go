package chain

import (
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// This file holds the private-build profile (vendor certificates scoped to
// app keys, and the CA that issues them) and the development PKI's extra
// certificates: the private-build CA and the trust-metadata signers.

// Origins of an app, each with its own verification policy.
const (
	OriginMarketplace  = "marketplace"
	OriginPrivateBuild = "private-build"
	OriginCustom       = "custom"
)

// PrivateBuildPolicyOID is the certificate policy of the private-build CA
// and of every vendor certificate it issues: the signer's UUID arc
// PolicyArc + ".3".
const PrivateBuildPolicyOID = PolicyArc + ".3"

// AppKeyURIPrefix starts each URI subject alternative name of a vendor
// certificate; the rest is one app key the certificate may sign private
// builds of, e.g. "urn:appsign:app-key:com.example.timesheets".
const AppKeyURIPrefix = "urn:appsign:app-key:"

// DevPrivateBuildCN is the development private-build CA's common name.
const DevPrivateBuildCN = "signer dev private-build CA"

// ErrOutOfScope reports a private-build certificate used for an app key it
// is not scoped to, or with no app key to check.
var ErrOutOfScope = errors.New("app key outside the certificate's scope")

// PrivateBuildPolicy returns PrivateBuildPolicyOID parsed.
func PrivateBuildPolicy() x509.OID {
	oid, err := x509.ParseOID(PrivateBuildPolicyOID)
	if err != nil {
		panic("chain: bad built-in OID")
	}
	return oid
}

// NewPrivateBuildCA issues the private-build intermediate CA for pub under
// root (MaxPathLen 0, the private-build policy). It is a sibling of the
// marketplace CA, so a compromise of one does not touch the other, and
// customers need no trust-store change: the chain ends at the same root.
func NewPrivateBuildCA(rand io.Reader, root *x509.Certificate, rootKey crypto.Signer, pub ed25519.PublicKey, cn string, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	return issueUnder(rand, root, rootKey, pub, cn, now, validity, "private-build CA", true, subCA([]x509.OID{PrivateBuildPolicy()}))
}

// NewPrivateBuildCertificate issues a vendor's code-signing certificate for
// pub (the vendor's own key) under the private-build CA, scoped to appKeys:
// one URI SAN AppKeyURIPrefix+key each, and the private-build policy.
func NewPrivateBuildCertificate(rand io.Reader, ca *x509.Certificate, caKey crypto.Signer, pub ed25519.PublicKey, vendor string, appKeys []string, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	return issueUnder(rand, ca, caKey, pub, "private build: "+vendor, now, validity, "private-build certificate", false, func(tmpl *x509.Certificate) error {
		if len(appKeys) == 0 {
			return fmt.Errorf("%w: no app keys", ErrOutOfScope)
		}
		for _, k := range appKeys {
			u, err := url.Parse(AppKeyURIPrefix + k)
			if err != nil || strings.ContainsAny(k, " /?#") {
				return fmt.Errorf("app key %q cannot be a URI", k)
			}
			tmpl.URIs = append(tmpl.URIs, u)
		}
		tmpl.Subject.OrganizationalUnit = []string{vendor}
		codeSigning(tmpl)
		tmpl.Policies = []x509.OID{PrivateBuildPolicy()}
		return nil
	})
}

// AppKeyScope returns the app keys a certificate is scoped to and whether
// it is a private-build certificate at all (policy or app-key URIs).
func AppKeyScope(c *x509.Certificate) (appKeys []string, scoped bool) {
	scoped = slices.ContainsFunc(c.Policies, PrivateBuildPolicy().Equal)
	for _, u := range c.URIs {
		if s := u.String(); strings.HasPrefix(s, AppKeyURIPrefix) {
			appKeys = append(appKeys, strings.TrimPrefix(s, AppKeyURIPrefix))
			scoped = true
		}
	}
	return appKeys, scoped
}

// CheckAppKeyScope enforces a private-build certificate's scope: appKey
// must be one of its app keys. A certificate without scope passes.
func CheckAppKeyScope(c *x509.Certificate, appKey string) error {
	keys, scoped := AppKeyScope(c)
	switch {
	case !scoped:
		return nil
	case len(keys) == 0:
		return fmt.Errorf("%w: private-build certificate %q names no app key", ErrOutOfScope, c.Subject)
	case appKey == "":
		return fmt.Errorf("%w: private-build certificate %q is scoped to app keys %s; name the app being installed (--app-key)", ErrOutOfScope, c.Subject, strings.Join(keys, ", "))
	case !slices.Contains(keys, appKey):
		return fmt.Errorf("%w: private-build certificate %q may sign %s, not %s", ErrOutOfScope, c.Subject, strings.Join(keys, ", "), appKey)
	}
	return nil
}

// DevIssued is a development key and the certificate the dev root issued
// for it.
type DevIssued struct {
	Cert     *x509.Certificate
	KeyPath  string
	CertPath string
}

// IssueFunc issues a certificate for pub under the dev root.
type IssueFunc func(root *x509.Certificate, rootKey ed25519.PrivateKey, pub ed25519.PublicKey) (*x509.Certificate, error)

// EnsureDevIssued creates (once) dir/keys/name.key and dir/pki/name.crt,
// a certificate issued by the dev root of EnsureDevPKI, which must have
// run first. Like EnsureDevPKI it re-issues a certificate within
// RenewWindow of expiry, one not issued by the current root, or (for a
// leaf) one for another key; a CA certificate for another key is an error.
func EnsureDevIssued(rand io.Reader, dir, name string, isCA bool, now time.Time, issue IssueFunc) (*DevIssued, error) {
	rootKey, err := loadDevKey(filepath.Join(dir, "keys", "root-ca.key"))
	if err != nil {
		return nil, err
	}
	root, err := loadDevCert(filepath.Join(dir, "pki", "root-ca.crt"))
	if err != nil {
		return nil, err
	}
	e := devEntry{filepath.Join(dir, "keys", name+".key"), filepath.Join(dir, "pki", name+".crt"), name, 0}
	key, err := ensureDevKey(rand, e, isCA)
	if err != nil {
		return nil, err
	}
	mint := func() (*x509.Certificate, error) { return issue(root, rootKey, key.Public().(ed25519.PublicKey)) }
	cert, err := ensureDevCert(e, key, now, isCA, mint)
	if err != nil {
		return nil, err
	}
	if cert.CheckSignatureFrom(root) != nil {
		if cert, err = issueDevCert(e, mint); err != nil {
			return nil, err
		}
	}
	return &DevIssued{Cert: cert, KeyPath: e.keyPath, CertPath: e.certPath}, nil
}

// EnsureDevPrivateBuildCA is EnsureDevIssued for the private-build CA
// ("private-build-ca", DevIntermediateValidity).
func EnsureDevPrivateBuildCA(rand io.Reader, dir string, now time.Time) (*DevIssued, error) {
	return EnsureDevIssued(rand, dir, "private-build-ca", true, now, func(root *x509.Certificate, rootKey ed25519.PrivateKey, pub ed25519.PublicKey) (*x509.Certificate, error) {
		return NewPrivateBuildCA(rand, root, rootKey, pub, DevPrivateBuildCN, now, DevIntermediateValidity)
	})
}

func loadDevCert(path string) (*x509.Certificate, error) {
	b, err := readTrustFile(path)
	if err != nil {
		return nil, fmt.Errorf("chain: dev pki: %w", err)
	}
	c, err := ParseCertificatePEM(b)
	if err != nil {
		return nil, fmt.Errorf("chain: dev pki: %s: %w", path, err)
	}
	return c, nil
}

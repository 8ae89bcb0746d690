package bundle

import (
	"crypto/x509"
	"fmt"
	"math/big"
	"os"
	"slices"
	"time"

	"github.com/appsign/signer/internal/chain"
)

// clockSkew is how far in the future a bundle's issued-at may be before
// Verify warns that the machine's clock looks wrong.
const clockSkew = 5 * time.Minute

// Verified is a bundle that passed Verify.
type Verified struct {
	// Manifest is the decoded manifest; ManifestBytes its signed bytes.
	Manifest      *Manifest
	ManifestBytes []byte
	// Signer is the manifest signer's certificate.
	Signer *x509.Certificate
	// Certificates are the root and intermediate CA files, in manifest order.
	Certificates []chain.TrustCert
	// RevocationList is the signed revocation list, or nil.
	RevocationList []byte
	// RevocationListVersion is its version (0 without a list).
	RevocationListVersion uint64
	// CRLs are the CRL files.
	CRLs []CRLFile
	// Warnings are things an operator must act on soon: certificates
	// expiring within ExpiryWarning, stale revocation data, a clock that
	// looks wrong. Each names its file.
	Warnings []string
}

// CRLFile is one CRL of a bundle.
type CRLFile struct {
	Name   string
	DER    []byte
	Issuer string
	Number *big.Int
}

// Verify checks the bundle directory dir offline, at now, and returns it.
//
// In order: manifest.sig must be a pure Ed25519 signature over the exact
// bytes of manifest.json by the key of manifest-signer.pem; that
// certificate must be one of trust's anchors, or a bundle-signing
// certificate (SigningPolicy) chaining to one, valid at now; the manifest
// must decode; the directory must hold exactly the listed files plus
// manifest.json, manifest.sig, SHA256SUMS and SHA512SUMS; each file's
// SHA-256 and SHA-512 must match the manifest and both sums files, and
// the file must be what its entry says (name, subject, dates,
// fingerprint); roots must be self-signed CAs, intermediates CAs issued
// within the bundle, certificates in date; the revocation list must verify
// against the bundle's roots and CRLs against its CAs.
//
// Errors name the file and wrap ErrBadSignature, ErrUntrusted,
// ErrExpired, ErrMalformed, ErrDigestMismatch, ErrMissingFile or
// ErrUnexpectedFile. A certificate not yet valid is accepted (it is
// pre-positioned for a rotation); stale revocation data is a warning.
func Verify(dir string, trust Trust, now time.Time) (*Verified, error) {
	v, err := verify(dir, trust, now)
	if err != nil {
		return nil, fmt.Errorf("bundle: verify %s: %w", dir, err)
	}
	return v, nil
}

// bundleDir reads the files of one bundle directory once each.
type bundleDir struct {
	dir     string
	present map[string]bool
	cache   map[string][]byte
}

func openBundleDir(dir string) (*bundleDir, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	d := &bundleDir{dir: dir, present: make(map[string]bool), cache: make(map[string][]byte)}
	for _, e := range entries {
		d.present[e.Name()] = true
	}
	return d, nil
}

func (d *bundleDir) read(name string) ([]byte, error) {
	if b, ok := d.cache[name]; ok {
		return b, nil
	}
	if !d.present[name] {
		return nil, fmt.Errorf("%s: %w", name, ErrMissingFile)
	}
	b, err := readRegular(d.dir, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrMalformed, err)
	}
	d.cache[name] = b
	return b, nil
}

func verify(dir string, trust Trust, now time.Time) (*Verified, error) {
	d, err := openBundleDir(dir)
	if err != nil {
		return nil, err
	}
	manifestBytes, err := d.read(ManifestFile)
	if err != nil {
		return nil, err
	}
	signer, err := verifySignature(d, manifestBytes)
	if err != nil {
		return nil, err
	}
	if err := verifySigner(d, signer, trust, now); err != nil {
		return nil, err
	}
	m, err := parseManifest(manifestBytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	if err := checkFileSet(d, m); err != nil {
		return nil, err
	}
	if err := checkDigests(d, m); err != nil {
		return nil, err
	}
	v := &Verified{Manifest: m, ManifestBytes: manifestBytes, Signer: signer}
	if err := checkContents(d, m, v, now); err != nil {
		return nil, err
	}
	if m.IssuedAt.After(now.Add(clockSkew)) {
		v.Warnings = append(v.Warnings, fmt.Sprintf("%s: issued at %s, after this machine's time %s: check the clock",
			ManifestFile, m.IssuedAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	}
	return v, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

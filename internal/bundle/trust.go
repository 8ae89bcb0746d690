package bundle

import (
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/revocation"
)

// Trust is what a bundle's manifest signer must chain to.
type Trust struct {
	// Roots are the trust anchors: the root CA certificates already in
	// the customer's trust store (chain.TrustStore.Roots()).
	Roots []*x509.Certificate
	// Intermediates may complete the signer's path, besides the bundle's
	// own intermediates (chain.TrustStore.Intermediates()).
	Intermediates []*x509.Certificate
	// BootstrapFingerprint, for a first install into an empty trust
	// store, is the SHA-256 fingerprint (see ParseFingerprint) of a root
	// in the bundle, compared by a person with the value the vendor
	// published out of band. That root is then trusted as an anchor.
	BootstrapFingerprint string
}

// verifySignature checks manifest.sig over the manifest with the key of
// manifest-signer.pem and returns that certificate (not yet trusted).
func verifySignature(d *bundleDir, manifest []byte) (*x509.Certificate, error) {
	sig, err := d.read(SignatureFile)
	if err != nil {
		return nil, err
	}
	signerPEM, err := d.read(SignerFile)
	if err != nil {
		return nil, err
	}
	signer, err := chain.ParseCertificatePEM(signerPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", SignerFile, ErrMalformed, err)
	}
	pub, ok := signer.PublicKey.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: %w: %q has a %s key, want Ed25519", SignerFile, ErrUntrusted, signer.Subject, signer.PublicKeyAlgorithm)
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, manifest, sig) {
		return nil, fmt.Errorf("%s: %w: not a signature of %s by the key of %s (%q)", SignatureFile, ErrBadSignature, ManifestFile, SignerFile, signer.Subject)
	}
	return signer, nil
}

// verifySigner decides whether signer may sign bundles for trust.
func verifySigner(d *bundleDir, signer *x509.Certificate, trust Trust, now time.Time) error {
	anchors := slices.Clone(trust.Roots)
	if trust.BootstrapFingerprint != "" {
		root, err := bootstrapRoot(d, trust.BootstrapFingerprint)
		if err != nil {
			return err
		}
		anchors = append(anchors, root)
	}
	if len(anchors) == 0 {
		return fmt.Errorf("%s: %w: no trusted root: pass the trust store's roots, or on a first install the root fingerprint published out of band", SignerFile, ErrUntrusted)
	}
	inters := slices.Clone(trust.Intermediates)
	for name := range d.present {
		if !strings.HasPrefix(name, RoleIntermediate+"-") {
			continue
		}
		// Not yet authenticated, but only used as path candidates whose
		// signatures path validation checks; bad ones fail later.
		if b, err := d.read(name); err == nil {
			if c, err := chain.ParseCertificatePEM(b); err == nil {
				inters = append(inters, c)
			}
		}
	}
	if _, err := revocation.VerifySignerCertificate(signer, SigningPolicy(), anchors, inters, now); err != nil {
		sentinel := ErrUntrusted
		if errors.Is(err, revocation.ErrExpired) {
			sentinel = ErrExpired
		}
		return fmt.Errorf("%s: %w: %v", SignerFile, sentinel, err)
	}
	return nil
}

// bootstrapRoot returns the bundle's root with the given fingerprint.
func bootstrapRoot(d *bundleDir, fingerprint string) (*x509.Certificate, error) {
	fp, err := ParseFingerprint(fingerprint)
	if err != nil {
		return nil, fmt.Errorf("%w: bootstrap %w", ErrUntrusted, err)
	}
	name := RoleRoot + "-" + fp[:16] + ".pem"
	if !d.present[name] {
		return nil, fmt.Errorf("%w: the bundle has no root with fingerprint %s", ErrUntrusted, fp)
	}
	b, err := d.read(name)
	if err != nil {
		return nil, err
	}
	c, err := chain.ParseCertificatePEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrMalformed, err)
	}
	if Fingerprint(c) != fp {
		return nil, fmt.Errorf("%s: %w: fingerprint is %s, not %s", name, ErrUntrusted, Fingerprint(c), fp)
	}
	if err := checkRoot(c); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrUntrusted, err)
	}
	return c, nil
}

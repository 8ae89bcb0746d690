package bundle

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/appsign/signer/internal/atomicfile"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/revocation"
)

// Export writes b as a new bundle directory dir (which must not exist),
// signing the manifest with signer, the key of b.SignerCertificate. The
// directory is built under a temporary name next to dir and renamed into
// place, so a published directory is always complete.
//
// Export refuses (ErrInvalidBundle) a bundle that its customers could not
// install at now: version 0, no root, a root that is not a self-signed CA,
// an intermediate that is not a CA issued by a CA of the bundle, a
// certificate already expired, a signer certificate that is not a bundle
// root or a bundle-signing certificate chaining to one, a revocation list
// that does not verify against the bundle's roots or is stale, a CRL not
// signed by a bundle CA or past its next update. A certificate not yet
// valid is accepted: it is pre-positioned for a rotation.
//
// A key that cannot pure-sign the manifest (AWS KMS signs at most 4096
// bytes) gives an error wrapping kms.ErrMessageTooLarge: use a dedicated
// bundle-signing key (NewSignerCertificate) in a backend without limit.
func Export(ctx context.Context, dir string, b Bundle, signer kms.Signer, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bundle: export: %w", err)
	}
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("bundle: export: %s: %w", dir, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("bundle: export: %w", err)
	}
	contents, m, err := prepareExport(b, signer, now)
	if err != nil {
		return fmt.Errorf("bundle: export: %w", err)
	}
	manifest, err := encodeManifest(m)
	if err != nil {
		return fmt.Errorf("bundle: export: %w", err)
	}
	if !signer.Limits().CanSign(int64(len(manifest))) {
		return fmt.Errorf("bundle: export: manifest of %d bytes with %s: %w; sign bundles with a bundle-signing key that pure-signs messages of any size", len(manifest), signer.URI(), kms.ErrMessageTooLarge)
	}
	sig, err := signer.SignMessage(ctx, manifest)
	if err != nil {
		return fmt.Errorf("bundle: export: sign manifest: %w", err)
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(signer.Public(), manifest, sig) {
		return fmt.Errorf("bundle: export: %w: the key backend returned a signature that does not verify", ErrBadSignature)
	}
	contents[ManifestFile] = manifest
	contents[SignatureFile] = sig
	sha256s, sha512s := make(map[string]string), make(map[string]string)
	for name, data := range contents {
		sha256s[name], sha512s[name] = fileDigests(data)
	}
	contents[SHA256SumsFile] = encodeSums(sha256s)
	contents[SHA512SumsFile] = encodeSums(sha512s)
	if err := writeDirAtomic(ctx, dir, contents); err != nil {
		return fmt.Errorf("bundle: export: %w", err)
	}
	return nil
}

// prepareExport checks b and returns the content files by name and the
// manifest describing them.
func prepareExport(b Bundle, signer kms.Signer, now time.Time) (map[string][]byte, *Manifest, error) {
	if signer == nil {
		return nil, nil, fmt.Errorf("%w: no signer", ErrInvalidBundle)
	}
	if err := checkBundleCerts(b, now); err != nil {
		return nil, nil, err
	}
	sc := b.SignerCertificate
	if sc == nil {
		return nil, nil, fmt.Errorf("%w: no signer certificate", ErrInvalidBundle)
	}
	if pub, ok := sc.PublicKey.(ed25519.PublicKey); !ok || !bytes.Equal(pub, signer.Public()) {
		return nil, nil, fmt.Errorf("%w: signer certificate %q is not the certificate of key %s", ErrInvalidBundle, sc.Subject, signer.URI())
	}
	if _, err := revocation.VerifySignerCertificate(sc, SigningPolicy(), b.Roots, b.Intermediates, now); err != nil {
		return nil, nil, fmt.Errorf("%w: signer certificate: %w", ErrInvalidBundle, err)
	}

	type item struct {
		role string
		data []byte
	}
	var items []item
	for _, tc := range chain.BundleFor(b.Roots, b.Intermediates) {
		items = append(items, item{tc.Role, []byte(tc.PEM)})
	}
	items = append(items, item{RoleSigner, chain.CertificatePEM(sc)})
	if b.RevocationList != nil {
		if _, _, err := revocation.VerifyTrusted(b.RevocationList, b.Roots, b.Intermediates, now); err != nil {
			return nil, nil, fmt.Errorf("%w: revocation list: %w", ErrInvalidBundle, err)
		}
		items = append(items, item{RoleRevocationList, b.RevocationList})
	}
	cas := append(append([]*x509.Certificate(nil), b.Roots...), b.Intermediates...)
	for i, der := range b.CRLs {
		crl, err := checkCRL(der, cas)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: CRL %d: %w", ErrInvalidBundle, i+1, err)
		}
		if stale := crlStale(crl, now); stale != "" {
			return nil, nil, fmt.Errorf("%w: CRL %d: %s", ErrInvalidBundle, i+1, stale)
		}
		items = append(items, item{RoleCRL, der})
	}

	m := &Manifest{Format: Format, BundleVersion: b.Version, IssuedAt: now.UTC().Truncate(time.Second)}
	contents := make(map[string][]byte)
	for _, it := range items {
		f, err := describe(it.role, it.data)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrInvalidBundle, it.role, err)
		}
		if _, dup := contents[f.Name]; dup {
			return nil, nil, fmt.Errorf("%w: %s given twice", ErrInvalidBundle, f.Name)
		}
		contents[f.Name] = it.data
		m.Files = append(m.Files, f)
		if isCertRole(f.Role) && (m.ValidUntil.IsZero() || f.NotAfter.Before(m.ValidUntil)) {
			m.ValidUntil = f.NotAfter
		}
	}
	return contents, m, nil
}

// checkBundleCerts checks the CA certificates Export is asked to publish.
func checkBundleCerts(b Bundle, now time.Time) error {
	if b.Version == 0 {
		return fmt.Errorf("%w: version must be at least 1", ErrInvalidBundle)
	}
	if len(b.Roots) == 0 {
		return fmt.Errorf("%w: no root certificate", ErrInvalidBundle)
	}
	cas := append(append([]*x509.Certificate(nil), b.Roots...), b.Intermediates...)
	for _, c := range cas {
		if c == nil {
			return fmt.Errorf("%w: nil certificate", ErrInvalidBundle)
		}
		if now.After(c.NotAfter) {
			return fmt.Errorf("%w: certificate %q expired at %s", ErrInvalidBundle, c.Subject, c.NotAfter.Format(time.RFC3339))
		}
	}
	for _, c := range b.Roots {
		if err := checkRoot(c); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidBundle, err)
		}
	}
	for _, c := range b.Intermediates {
		if err := checkIntermediate(c, cas); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidBundle, err)
		}
	}
	return nil
}

// writeDirAtomic writes files into a temporary directory next to dir and
// renames it to dir.
func writeDirAtomic(ctx context.Context, dir string, files map[string][]byte) error {
	parent := filepath.Dir(filepath.Clean(dir))
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(tmp)
		}
	}()
	for name, data := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := atomicfile.Write(filepath.Join(tmp, name), data, 0o444); err != nil {
			return err
		}
	}
	if err := atomicfile.SyncDir(tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	ok = true
	return atomicfile.SyncDir(parent)
}

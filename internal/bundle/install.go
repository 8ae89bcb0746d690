package bundle

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/appsign/signer/internal/atomicfile"
)

// Modes Install leaves behind: nobody may write the trust store; the
// product's user reads it. The folder must not be owned by the product's
// user either, since an owner can chmod it back.
const (
	StoreDirMode  fs.FileMode = 0o555
	StoreFileMode fs.FileMode = 0o444
)

// InstallOptions tune Diff and Install.
type InstallOptions struct {
	// BootstrapFingerprint is the SHA-256 fingerprint of a bundle root to
	// trust on a first install (see Trust). Leave it empty when the
	// store already holds a root that the bundle's signer chains to.
	BootstrapFingerprint string
}

// Diff returns what Install would do with the bundle bundleDir and the
// trust store truststoreDir at now, changing nothing. It verifies the
// bundle as Install does and fails the same way.
func Diff(bundleDir, truststoreDir string, now time.Time, opts InstallOptions) (Plan, error) {
	inst, err := planInstall(bundleDir, truststoreDir, now, opts)
	if err != nil {
		return Plan{}, fmt.Errorf("bundle: diff: %w", err)
	}
	return inst.plan, nil
}

// Install verifies the bundle bundleDir against the roots already in
// truststoreDir (plus opts.BootstrapFingerprint) and installs it there:
//
//   - a bundle older than the installed one is refused (ErrDowngrade); the
//     same version is a no-op (Plan.UpToDate);
//   - bundle certificates are added (including ones not yet valid); a
//     store file with a bundle file's name but other content is refused
//     (ErrConflict);
//   - expired certificate files are removed, and so are CA files that an
//     earlier bundle installed and this one withdraws, if unchanged;
//     nothing else is ever removed;
//   - the revocation list (unless the installed one is newer) and CRLs go
//     to RevocationDir;
//   - each file is written atomically (temporary file and rename) with
//     mode 0444; .bundle-manifest.json and then .bundle-version are
//     written last, so an interrupted install is completed by running it
//     again; the folders are left 0555, also after a failure.
//
// The caller must be able to write the folder (it is made writable by its
// owner while installing): run it as the account that owns the trust
// store, never as the product's user.
func Install(ctx context.Context, bundleDir, truststoreDir string, now time.Time, opts InstallOptions) (Plan, error) {
	if err := ctx.Err(); err != nil {
		return Plan{}, fmt.Errorf("bundle: install: %w", err)
	}
	inst, err := planInstall(bundleDir, truststoreDir, now, opts)
	if err != nil {
		return Plan{}, fmt.Errorf("bundle: install: %w", err)
	}
	if inst.plan.UpToDate {
		return inst.plan, nil
	}
	if err := inst.apply(ctx, truststoreDir); err != nil {
		return Plan{}, fmt.Errorf("bundle: install into %s (run it again to complete it): %w", truststoreDir, err)
	}
	return inst.plan, nil
}

func (inst *installation) apply(ctx context.Context, dir string) (err error) {
	p := &inst.plan
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := unlock(dir); err != nil {
		return err
	}
	defer lock(dir, &err)
	revDir := filepath.Join(dir, RevocationDir)
	if touchesRevocation(p) {
		if err := os.MkdirAll(revDir, 0o755); err != nil {
			return err
		}
		if err := unlock(revDir); err != nil {
			return err
		}
		defer lock(revDir, &err)
	}
	for _, c := range p.Add {
		if err := ctx.Err(); err != nil {
			return err
		}
		path := filepath.Join(dir, filepath.FromSlash(c.File))
		if err := atomicfile.Write(path, inst.writes[c.File], StoreFileMode); err != nil {
			return fmt.Errorf("%s: %w", c.File, err)
		}
	}
	for _, c := range p.Unchanged {
		if err := os.Chmod(filepath.Join(dir, filepath.FromSlash(c.File)), StoreFileMode); err != nil {
			return fmt.Errorf("%s: %w", c.File, err)
		}
	}
	for _, c := range p.Remove {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(c.File))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w", c.File, err)
		}
	}
	if touchesRevocation(p) {
		if err := atomicfile.SyncDir(revDir); err != nil {
			return err
		}
	}
	if err := atomicfile.Write(filepath.Join(dir, InstalledManifestFile), inst.verified.ManifestBytes, StoreFileMode); err != nil {
		return fmt.Errorf("%s: %w", InstalledManifestFile, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, VersionFile), fmt.Appendf(nil, "%d\n", p.BundleVersion), StoreFileMode); err != nil {
		return fmt.Errorf("%s: %w", VersionFile, err)
	}
	return atomicfile.SyncDir(dir)
}

func touchesRevocation(p *Plan) bool {
	for _, cs := range [][]Change{p.Add, p.Remove, p.Unchanged} {
		for _, c := range cs {
			if strings.HasPrefix(c.File, RevocationDir+"/") {
				return true
			}
		}
	}
	return false
}

// unlock makes dir writable by its owner for the install.
func unlock(dir string) error { return os.Chmod(dir, 0o755) }

// lock makes dir read-only again, reporting a failure unless *err is
// already set.
func lock(dir string, err *error) {
	if cerr := os.Chmod(dir, StoreDirMode); cerr != nil && *err == nil {
		*err = cerr
	}
}

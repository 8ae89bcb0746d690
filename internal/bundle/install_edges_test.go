package bundle_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/appsign/signer/internal/bundle"
)

// TestInstallPlanEdges: a store file holding the bundle's certificate in
// other bytes (an extra blank line) is the same certificate, unchanged, not
// a conflict; a bundle's revocation list of the version already installed
// but other content replaces it (only a newer installed version is kept).
func TestInstallPlanEdges(t *testing.T) {
	f := newFixture(t, testNow)
	b := f.bundle(1)
	b.RevocationList = f.revocationList(t, 1, testNow)
	store := storeDir(t)
	opts := bundle.InstallOptions{BootstrapFingerprint: bundle.Fingerprint(f.root)}
	first, err := bundle.Install(t.Context(), f.export(t, b, testNow), store, testNow, opts)
	if err != nil {
		t.Fatal(err)
	}

	// The root's file, rewritten by hand with an extra blank line after the PEM block.
	i := slices.IndexFunc(first.Add, func(c bundle.Change) bool { return c.Role == bundle.RoleRoot })
	if i < 0 {
		t.Fatalf("first install added no root: %+v", first.Add)
	}
	rootFile := filepath.Join(store, first.Add[i].File)
	pem, err := os.ReadFile(rootFile)
	if err != nil {
		t.Fatal(err)
	}
	makeWritable(store)
	if err := os.Chmod(rootFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rootFile, append(pem, '\n'), 0o444); err != nil {
		t.Fatal(err)
	}

	b2 := f.bundle(2)
	b2.RevocationList = f.revocationList(t, 1, testNow.Add(day)) // same version, other content
	p, err := bundle.Diff(f.export(t, b2, testNow.Add(day)), store, testNow.Add(day), opts)
	if err != nil {
		t.Fatalf("Diff = %v, want the reformatted root file taken as the same certificate", err)
	}
	if !slices.ContainsFunc(p.Unchanged, func(c bundle.Change) bool { return c.File == first.Add[i].File }) {
		t.Errorf("root file not unchanged: %+v", p)
	}
	if !slices.ContainsFunc(p.Add, func(c bundle.Change) bool { return c.Role == bundle.RoleRevocationList }) {
		t.Errorf("revocation list of the same version, other content, not replaced: add %+v, warnings %q", p.Add, p.Warnings)
	}
}

// TestInstallRemovesWithdrawnRoot: a root that bundle version 1 installed
// and version 2 no longer ships is removed as withdrawn, like an
// intermediate.
func TestInstallRemovesWithdrawnRoot(t *testing.T) {
	f := newFixture(t, testNow)
	other := newFixture(t, testNow)
	store := storeDir(t)
	opts := bundle.InstallOptions{BootstrapFingerprint: bundle.Fingerprint(f.root)}
	b := f.bundle(1)
	b.Roots = append(b.Roots, other.root)
	if _, err := bundle.Install(t.Context(), f.export(t, b, testNow), store, testNow, opts); err != nil {
		t.Fatal(err)
	}
	p, err := bundle.Diff(f.export(t, f.bundle(2), testNow), store, testNow, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(p.Remove, func(c bundle.Change) bool {
		return c.Role == bundle.RoleRoot && c.Subject == other.root.Subject.String()
	}) {
		t.Errorf("withdrawn root not removed: remove %+v, warnings %q", p.Remove, p.Warnings)
	}
}

package bundle_test

import (
	"bytes"
	"crypto/x509"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/bundle"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/revocation"
)

func TestInstallIntoFreshStore(t *testing.T) {
	f := newFixture(t, testNow)
	b := f.bundle(1)
	b.RevocationList = f.revocationList(t, 4, testNow)
	b.CRLs = [][]byte{f.crl(t, 2, testNow)}
	dir := f.export(t, b, testNow)
	store := storeDir(t)

	if _, err := bundle.Install(t.Context(), dir, store, testNow, bundle.InstallOptions{}); !errors.Is(err, bundle.ErrUntrusted) {
		t.Fatalf("first install without a fingerprint = %v, want ErrUntrusted", err)
	}
	plan, err := bundle.Install(t.Context(), dir, store, testNow, bundle.InstallOptions{BootstrapFingerprint: bundle.Fingerprint(f.root)})
	if err != nil {
		t.Fatal(err)
	}
	if plan.BundleVersion != 1 || plan.InstalledVersion != 0 || plan.UpToDate || len(plan.Add) != 4 || len(plan.Remove) != 0 {
		t.Errorf("plan =\n%s", plan)
	}

	// Permissions: nobody writes the trust store.
	wantModes := map[string]fs.FileMode{
		".":                               bundle.StoreDirMode,
		fileName("root", f.root):          bundle.StoreFileMode,
		fileName("intermediate", f.inter): bundle.StoreFileMode,
		bundle.VersionFile:                bundle.StoreFileMode,
		bundle.InstalledManifestFile:      bundle.StoreFileMode,
		bundle.RevocationDir:              bundle.StoreDirMode,
		filepath.Join(bundle.RevocationDir, bundle.RevocationListFile): bundle.StoreFileMode,
	}
	for name, want := range wantModes {
		info, err := os.Stat(filepath.Join(store, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", name, got, want)
		}
	}
	entries, err := os.ReadDir(store)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	wantNames := []string{bundle.InstalledManifestFile, bundle.VersionFile, bundle.RevocationDir, fileName("intermediate", f.inter), fileName("root", f.root)}
	slices.Sort(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Errorf("trust store holds %q, want %q (no temporary files, no manifest-signer)", names, wantNames)
	}
	if got := string(readFile(t, filepath.Join(store, bundle.VersionFile))); got != "1\n" {
		t.Errorf("%s = %q, want \"1\\n\"", bundle.VersionFile, got)
	}

	// The installed store works for the verifier.
	ts, err := chain.LoadTrustStore(store)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts.Roots()) != 1 || len(ts.Intermediates()) != 1 {
		t.Errorf("LoadTrustStore: %d roots, %d intermediates", len(ts.Roots()), len(ts.Intermediates()))
	}
	list, err := bundle.InstalledRevocationList(store)
	if err != nil || !bytes.Equal(list, b.RevocationList) {
		t.Errorf("InstalledRevocationList = %d bytes, %v", len(list), err)
	}
	if _, _, err := revocation.VerifyTrusted(list, ts.Roots(), ts.Intermediates(), testNow); err != nil {
		t.Errorf("installed revocation list does not verify against the installed roots: %v", err)
	}
	crls, err := bundle.InstalledCRLs(store)
	if err != nil || len(crls) != 1 || !bytes.Equal(crls[0], b.CRLs[0]) {
		t.Errorf("InstalledCRLs = %d, %v", len(crls), err)
	}
	if v, err := bundle.InstalledVersion(store); err != nil || v != 1 {
		t.Errorf("InstalledVersion = %d, %v", v, err)
	}
}

// installed exports version v of b and installs it into store.
func installed(t *testing.T, f *fixture, b bundle.Bundle, store string, now time.Time) bundle.Plan {
	t.Helper()
	plan, err := bundle.Install(t.Context(), f.export(t, b, now), store, now, bundle.InstallOptions{BootstrapFingerprint: bundle.Fingerprint(f.root)})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestInstallVersions(t *testing.T) {
	f := newFixture(t, testNow)
	store := storeDir(t)
	installed(t, f, f.bundle(2), store, testNow)
	before := snapshot(t, store)

	v1 := f.export(t, f.bundle(1), testNow)
	if _, err := bundle.Install(t.Context(), v1, store, testNow, bundle.InstallOptions{}); !errors.Is(err, bundle.ErrDowngrade) {
		t.Errorf("installing version 1 over 2 = %v, want ErrDowngrade", err)
	}
	if _, err := bundle.Diff(v1, store, testNow, bundle.InstallOptions{}); !errors.Is(err, bundle.ErrDowngrade) {
		t.Errorf("Diff of version 1 against 2 = %v, want ErrDowngrade", err)
	}
	plan, err := bundle.Install(t.Context(), f.export(t, f.bundle(2), testNow), store, testNow, bundle.InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !plan.UpToDate || len(plan.Add)+len(plan.Remove) != 0 || !strings.Contains(plan.String(), "already installed") {
		t.Errorf("installing version 2 again: plan =\n%s", plan)
	}
	if after := snapshot(t, store); !sameTree(before, after) {
		t.Error("a refused or no-op install changed the trust store")
	}
	// The store's own root now authenticates the next bundle: no fingerprint.
	if _, err := bundle.Install(t.Context(), f.export(t, f.bundle(3), testNow), store, testNow, bundle.InstallOptions{}); err != nil {
		t.Errorf("installing version 3 = %v", err)
	}
}

func TestDiffAndInstallRotation(t *testing.T) {
	f := newFixture(t, testNow)
	store := storeDir(t)
	installed(t, f, f.bundle(1), store, testNow)

	// Around the store's own files: an old, expired root someone copied in
	// by hand, and the customer's valid custom-app certificate.
	old := newFixture(t, testNow.Add(-11*year))
	custom := newFixture(t, testNow).inter
	makeWritable(store)
	writePEM(t, store, "old-root.pem", old.root)
	writePEM(t, store, "custom.crt", custom)

	// Version 2 withdraws the marketplace CA and ships its successor, not
	// valid for another 30 days.
	next := f.intermediate(t, "test marketplace CA 2", testNow.Add(30*day), 5*year)
	v2 := f.bundle(2)
	v2.Intermediates = []*x509.Certificate{next}
	dir := f.export(t, v2, testNow)

	before := snapshot(t, store)
	plan, err := bundle.Diff(dir, store, testNow, bundle.InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, store); !sameTree(before, after) {
		t.Fatal("Diff changed the trust store")
	}
	want := []string{
		"bundle version 2 (installed: 1)",
		"+ " + fileName("intermediate", next) + "  intermediate  CN=test marketplace CA 2,O=signer",
		"pre-positioned for a rotation",
		"- " + fileName("intermediate", f.inter) + "  intermediate  CN=test marketplace CA,O=signer",
		"withdrawn: installed by bundle version 1, not in version 2",
		"- old-root.pem  root  CN=test root CA,O=signer",
		"expired at",
		"= " + fileName("root", f.root) + "  root",
	}
	text := plan.String()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("diff output lacks %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, "custom.crt") {
		t.Errorf("diff touches the customer's own file:\n%s", text)
	}

	got, err := bundle.Install(t.Context(), dir, store, testNow, bundle.InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != text {
		t.Errorf("Install did\n%s\nDiff said\n%s", got, text)
	}
	for name, present := range map[string]bool{
		fileName("intermediate", next):    true,
		fileName("intermediate", f.inter): false,
		"old-root.pem":                    false,
		"custom.crt":                      true,
		fileName("root", f.root):          true,
	} {
		if _, err := os.Stat(filepath.Join(store, name)); (err == nil) != present {
			t.Errorf("%s present = %v, want %v", name, err == nil, present)
		}
	}
	if info, err := os.Stat(store); err != nil || info.Mode().Perm() != bundle.StoreDirMode {
		t.Errorf("trust store mode after install: %v %v", info.Mode(), err)
	}
}

func TestInstallLeavesChangedWithdrawnFile(t *testing.T) {
	f := newFixture(t, testNow)
	store := storeDir(t)
	installed(t, f, f.bundle(1), store, testNow)
	interFile := fileName("intermediate", f.inter)
	makeWritable(store)
	overwrite(t, filepath.Join(store, interFile), append(chain.CertificatePEM(f.inter), chain.CertificatePEM(f.root)...))

	v2 := f.bundle(2)
	v2.Intermediates = nil
	plan := installed(t, f, v2, store, testNow)
	if len(plan.Remove) != 0 {
		t.Errorf("removed %+v, want nothing", plan.Remove)
	}
	if !slices.ContainsFunc(plan.Warnings, func(w string) bool { return strings.HasPrefix(w, interFile+": withdrawn") }) {
		t.Errorf("warnings %q do not mention the changed file", plan.Warnings)
	}
	if _, err := os.Stat(filepath.Join(store, interFile)); err != nil {
		t.Error("a file changed since install was removed")
	}
}

func TestInstallConflict(t *testing.T) {
	f := newFixture(t, testNow)
	store := storeDir(t)
	writePEM(t, store, fileName("root", f.root), f.root)
	writePEM(t, store, fileName("intermediate", f.inter), newFixture(t, testNow).inter)
	_, err := bundle.Install(t.Context(), f.export(t, f.bundle(1), testNow), store, testNow, bundle.InstallOptions{})
	if !errors.Is(err, bundle.ErrConflict) || !strings.Contains(err.Error(), fileName("intermediate", f.inter)) {
		t.Errorf("Install = %v, want ErrConflict naming the file", err)
	}
}

func TestInstallKeepsNewerRevocationData(t *testing.T) {
	f := newFixture(t, testNow)
	store := storeDir(t)
	b2 := f.bundle(2)
	b2.RevocationList = f.revocationList(t, 8, testNow)
	b2.CRLs = [][]byte{f.crl(t, 5, testNow)}
	installed(t, f, b2, store, testNow)

	b3 := f.bundle(3)
	b3.RevocationList = f.revocationList(t, 7, testNow)
	b3.CRLs = [][]byte{f.crl(t, 4, testNow)}
	plan := installed(t, f, b3, store, testNow)
	list, err := bundle.InstalledRevocationList(store)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(list, b2.RevocationList) {
		t.Error("an older revocation list replaced a newer one")
	}
	if crls, _ := bundle.InstalledCRLs(store); len(crls) != 1 || !bytes.Equal(crls[0], b2.CRLs[0]) {
		t.Error("an older CRL replaced a newer one")
	}
	if len(plan.Warnings) != 2 {
		t.Errorf("warnings = %q, want one each for the list and the CRL", plan.Warnings)
	}

	b4 := f.bundle(4)
	b4.RevocationList = f.revocationList(t, 9, testNow)
	b4.CRLs = [][]byte{f.crl(t, 6, testNow)}
	plan = installed(t, f, b4, store, testNow)
	if crls, _ := bundle.InstalledCRLs(store); len(crls) != 1 || !bytes.Equal(crls[0], b4.CRLs[0]) {
		t.Errorf("after version 4: %d CRLs installed, want only the new one; plan:\n%s", len(crls), plan)
	}
	if list, _ := bundle.InstalledRevocationList(store); !bytes.Equal(list, b4.RevocationList) {
		t.Error("the newer revocation list was not installed")
	}
}

// snapshot returns every path under dir with its mode and content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		content := ""
		if !d.IsDir() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			content = string(b)
		}
		out[path] = info.Mode().String() + "\n" + content
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(a, b map[string]string) bool { return maps.Equal(a, b) }

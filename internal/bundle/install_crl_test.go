package bundle_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/bundle"
)

// TestInstallCRLNumbers: a bundle's CRL numbered below the installed one
// of the same CA is not installed (a rollback would un-revoke), with a
// warning; one numbered above replaces it, the old file removed as
// superseded.
func TestInstallCRLNumbers(t *testing.T) {
	f := newFixture(t, testNow)
	store := storeDir(t)
	opts := bundle.InstallOptions{BootstrapFingerprint: bundle.Fingerprint(f.root)}
	b := f.bundle(1)
	b.CRLs = [][]byte{f.crl(t, 2, testNow)}
	if _, err := bundle.Install(t.Context(), f.export(t, b, testNow), store, testNow, opts); err != nil {
		t.Fatal(err)
	}
	isCRL := func(c bundle.Change) bool { return c.Role == bundle.RoleCRL }
	later := testNow.Add(day)

	older := f.bundle(2)
	older.CRLs = [][]byte{f.crl(t, 1, later)}
	p, err := bundle.Diff(f.export(t, older, later), store, later, opts)
	if err != nil {
		t.Fatal(err)
	}
	warned := slices.ContainsFunc(p.Warnings, func(w string) bool { return strings.Contains(w, "higher CRL number") })
	if slices.ContainsFunc(p.Add, isCRL) || slices.ContainsFunc(p.Remove, isCRL) || !warned {
		t.Errorf("older CRL: add %+v, remove %+v, warnings %q; want it left out with a warning", p.Add, p.Remove, p.Warnings)
	}

	newer := f.bundle(3)
	newer.CRLs = [][]byte{f.crl(t, 3, later)}
	p, err = bundle.Diff(f.export(t, newer, later), store, later, opts)
	if err != nil {
		t.Fatal(err)
	}
	superseded := slices.ContainsFunc(p.Remove, func(c bundle.Change) bool { return isCRL(c) && strings.Contains(c.Note, "superseded") })
	if !slices.ContainsFunc(p.Add, isCRL) || !superseded {
		t.Errorf("newer CRL: add %+v, remove %+v; want it added and the old one removed as superseded", p.Add, p.Remove)
	}
}

package bundle_test

import (
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/bundle"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
)

// TestExportNamesTheStaleCRL: of several CRLs, the refusal names the one
// that is stale, counting from 1 as the operator listed them.
func TestExportNamesTheStaleCRL(t *testing.T) {
	f := newFixture(t, testNow)
	b := f.bundle(1)
	b.CRLs = [][]byte{f.crl(t, 2, testNow), f.crl(t, 1, testNow.Add(-8*day))}
	err := bundle.Export(t.Context(), filepath.Join(t.TempDir(), "out"), b, f.bundleKey, testNow)
	if !errors.Is(err, bundle.ErrInvalidBundle) || !strings.Contains(err.Error(), "CRL 2: ") {
		t.Fatalf("Export = %v, want ErrInvalidBundle naming CRL 2", err)
	}
}

// TestIntermediateNamedLikeItsRoot: an intermediate whose subject repeats
// its issuer's (legal in PKIX: the names match, the keys differ) is issued
// by the root, not self-signed, and is exported and verified; a CA that
// really signed itself is refused as an intermediate.
func TestIntermediateNamedLikeItsRoot(t *testing.T) {
	f := newFixture(t, testNow)
	sameName, err := chain.NewIntermediateCA(rand.Reader, f.root, kms.CryptoSigner(t.Context(), f.rootKey), newSigner(t).Public(), f.root.Subject.CommonName, testNow, year)
	if err != nil {
		t.Fatal(err)
	}
	if string(sameName.RawSubject) != string(sameName.RawIssuer) {
		t.Fatalf("test premise: subject %q, issuer %q should be the same name", sameName.Subject, sameName.Issuer)
	}
	b := f.bundle(1)
	b.Intermediates = append(b.Intermediates, sameName)
	dir := f.export(t, b, testNow)
	if _, err := bundle.Verify(dir, f.trust(), testNow); err != nil {
		t.Fatalf("Verify = %v, want the bundle accepted", err)
	}

	other := newFixture(t, testNow)
	b = f.bundle(1)
	b.Intermediates = append(b.Intermediates, other.root)
	err = bundle.Export(t.Context(), filepath.Join(t.TempDir(), "out"), b, f.bundleKey, testNow)
	if !errors.Is(err, bundle.ErrInvalidBundle) || !strings.Contains(err.Error(), "self-signed") {
		t.Fatalf("Export with a self-signed intermediate = %v, want ErrInvalidBundle saying self-signed", err)
	}
}

// TestDiffWarnsDaysBeforeExpiry: a CA of the bundle within the renewal
// window is reported with the whole days it has left.
func TestDiffWarnsDaysBeforeExpiry(t *testing.T) {
	f := newFixture(t, testNow)
	short := f.intermediate(t, "test short-lived CA", testNow, 60*day)
	b := f.bundle(1)
	b.Intermediates = append(b.Intermediates, short)
	dir := f.export(t, b, testNow)
	now := short.NotAfter.Add(-10*day - time.Hour)
	p, err := bundle.Diff(dir, storeDir(t), now, bundle.InstallOptions{BootstrapFingerprint: bundle.Fingerprint(f.root)})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range p.Warnings {
		if strings.Contains(w, "test short-lived CA") && strings.Contains(w, "in 10 days") {
			return
		}
	}
	t.Errorf("warnings %q: none says the short-lived CA expires in 10 days", p.Warnings)
}

// TestDiffWarnsOncePerExpiringCA: a CA that is both in the store and in
// the new bundle is warned about once (by the bundle's check), not again
// as a store file.
func TestDiffWarnsOncePerExpiringCA(t *testing.T) {
	f := newFixture(t, testNow)
	short := f.intermediate(t, "test short-lived CA", testNow, 60*day)
	b := f.bundle(1)
	b.Intermediates = append(b.Intermediates, short)
	store := storeDir(t)
	opts := bundle.InstallOptions{BootstrapFingerprint: bundle.Fingerprint(f.root)}
	if _, err := bundle.Install(t.Context(), f.export(t, b, testNow), store, testNow, opts); err != nil {
		t.Fatal(err)
	}
	now := short.NotAfter.Add(-10 * day)
	b2 := f.bundle(2)
	b2.Intermediates = append(b2.Intermediates, short)
	p, err := bundle.Diff(f.export(t, b2, testNow.Add(day)), store, now, opts)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, w := range p.Warnings {
		if strings.Contains(w, "test short-lived CA") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d warnings about the short-lived CA, want 1: %q", n, p.Warnings)
	}
}

package bundle_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/bundle"
	"github.com/appsign/signer/internal/chain"
)

// TestDiffWarnsAboutExpiringStoreCA: a CA certificate the customer put in
// the trust store by hand (no bundle carries it) that expires within
// ExpiryWarning is warned about, by a new bundle and by the installed one.
func TestDiffWarnsAboutExpiringStoreCA(t *testing.T) {
	f := newFixture(t, testNow)
	store := storeDir(t)
	opts := bundle.InstallOptions{BootstrapFingerprint: bundle.Fingerprint(f.root)}
	b1 := f.export(t, f.bundle(1), testNow)
	if _, err := bundle.Install(t.Context(), b1, store, testNow, opts); err != nil {
		t.Fatal(err)
	}
	short := f.intermediate(t, "hand-placed CA", testNow, 60*day)
	writeByHand(t, store, "hand-placed.pem", chain.CertificatePEM(short))
	now := short.NotAfter.Add(-10 * day)
	for name, dir := range map[string]string{"installed bundle": b1, "new bundle": f.export(t, f.bundle(2), testNow.Add(day))} {
		p, err := bundle.Diff(dir, store, now, opts)
		if err != nil {
			t.Fatal(err)
		}
		// The warning's text is all there is of it: the file and the days left.
		if !slices.ContainsFunc(p.Warnings, func(w string) bool {
			return strings.HasPrefix(w, "hand-placed.pem: ") && strings.HasSuffix(w, ", in 10 days")
		}) {
			t.Errorf("%s: warnings %q, want one about hand-placed.pem expiring in 10 days", name, p.Warnings)
		}
	}
}

// TestInstallSupersedesUnnumberedCRL: an installed CRL without a CRL
// number (made by another tool) is superseded by the bundle's CRL of the
// same CA and removed.
func TestInstallSupersedesUnnumberedCRL(t *testing.T) {
	f := newFixture(t, testNow)
	store := storeDir(t)
	installed(t, f, f.bundle(1), store, testNow)
	der := unnumberedCRL(t, f, testNow)
	if crl, err := x509.ParseRevocationList(der); err != nil {
		t.Fatalf("the hand-made CRL: %v", err)
	} else if crl.Number != nil {
		t.Fatalf("the hand-made CRL has number %v, want none", crl.Number)
	}
	writeByHand(t, store, filepath.Join(".revocation", "crl-handmade.crl"), der)
	b2 := f.bundle(2)
	b2.CRLs = [][]byte{f.crl(t, 2, testNow)}
	p, err := bundle.Diff(f.export(t, b2, testNow), store, testNow, bundle.InstallOptions{BootstrapFingerprint: bundle.Fingerprint(f.root)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(p.Remove, func(c bundle.Change) bool {
		return c.File == ".revocation/crl-handmade.crl" && strings.Contains(c.Note, "superseded")
	}) {
		t.Errorf("remove %+v, want the unnumbered CRL removed as superseded", p.Remove)
	}
}

// writeByHand writes a file into the installed (read-only) trust store as
// its owner would, and makes the folders read-only again.
func writeByHand(t *testing.T, store, name string, data []byte) {
	t.Helper()
	makeWritable(store)
	path := filepath.Join(store, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o444); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Dir(path), store} {
		if err := os.Chmod(dir, bundle.StoreDirMode); err != nil {
			t.Fatal(err)
		}
	}
}

// unnumberedCRL is a v2 CRL of f's intermediate without extensions (no
// CRL number), as crypto/x509 cannot make one.
func unnumberedCRL(t *testing.T, f *fixture, now time.Time) []byte {
	t.Helper()
	ed25519 := pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 3, 101, 112}}
	tbs, err := asn1.Marshal(struct {
		Version    int
		Signature  pkix.AlgorithmIdentifier
		Issuer     asn1.RawValue
		ThisUpdate time.Time `asn1:"utc"`
		NextUpdate time.Time `asn1:"utc"`
	}{1, ed25519, asn1.RawValue{FullBytes: f.inter.RawSubject}, now.Add(-day), now.Add(7 * day)})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := f.interKey.SignMessage(t.Context(), tbs)
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(struct {
		TBS       asn1.RawValue
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, ed25519, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

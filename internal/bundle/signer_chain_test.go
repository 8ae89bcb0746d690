package bundle_test

import (
	"crypto/rand"
	"testing"

	"github.com/appsign/signer/internal/bundle"
	"github.com/appsign/signer/internal/kms"
)

// TestVerifySignerUnderIntermediate: a bundle signer certified by an
// intermediate of the bundle (not by the root itself) verifies against a
// trust store holding only the root: the intermediate is taken from the
// bundle folder as a path candidate.
func TestVerifySignerUnderIntermediate(t *testing.T) {
	f := newFixture(t, testNow)
	key := newSigner(t)
	cert, err := bundle.NewSignerCertificate(rand.Reader, f.inter, kms.CryptoSigner(t.Context(), f.interKey), key.Public(), "test bundle signer under the intermediate", testNow, year)
	if err != nil {
		t.Fatal(err)
	}
	b := f.bundle(1)
	b.SignerCertificate = cert
	dir := t.TempDir() + "/out"
	if err := bundle.Export(t.Context(), dir, b, key, testNow); err != nil {
		t.Fatal(err)
	}
	if _, err := bundle.Verify(dir, f.trust(), testNow); err != nil {
		t.Fatalf("Verify = %v, want the signer's path through the bundle's intermediate accepted", err)
	}
}

package bundle_test

import (
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appsign/signer/internal/bundle"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/revocation"
)

// testNow is the fixed clock of these tests.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	day  = 24 * time.Hour
	year = 365 * day
)

var keySeq atomic.Int64

func newSigner(t *testing.T) kms.Signer {
	t.Helper()
	b := softkms.New(softkms.Options{Dir: t.TempDir()})
	uri, err := b.CreateKey(t.Context(), kms.CreateKeyRequest{Name: fmt.Sprintf("k%d", keySeq.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.LoadSigner(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// fixture is a vendor PKI: a root CA, a marketplace intermediate, a
// bundle-signing key and a revocation-signing key, all in softkms.
type fixture struct {
	root, inter                *x509.Certificate
	rootKey, interKey          kms.Signer
	bundleKey, revKey          kms.Signer
	bundleCert, revocationCert *x509.Certificate
}

func newFixture(t *testing.T, now time.Time) *fixture {
	t.Helper()
	f := &fixture{rootKey: newSigner(t), interKey: newSigner(t), bundleKey: newSigner(t), revKey: newSigner(t)}
	rootCS := kms.CryptoSigner(t.Context(), f.rootKey)
	var err error
	if f.root, err = chain.NewRootCA(rand.Reader, rootCS, "test root CA", now, 10*year); err != nil {
		t.Fatal(err)
	}
	if f.inter, err = chain.NewIntermediateCA(rand.Reader, f.root, rootCS, f.interKey.Public(), "test marketplace CA", now, 5*year); err != nil {
		t.Fatal(err)
	}
	if f.bundleCert, err = bundle.NewSignerCertificate(rand.Reader, f.root, rootCS, f.bundleKey.Public(), "test bundle signer", now, 2*year); err != nil {
		t.Fatal(err)
	}
	if f.revocationCert, err = revocation.NewSignerCertificate(rand.Reader, f.root, rootCS, f.revKey.Public(), "test revocation signer", revocation.RevocationSigningPolicy(), now, 2*year); err != nil {
		t.Fatal(err)
	}
	return f
}

// intermediate issues another intermediate CA under the root, valid from
// issued-5m for validity.
func (f *fixture) intermediate(t *testing.T, cn string, issued time.Time, validity time.Duration) *x509.Certificate {
	t.Helper()
	c, err := chain.NewIntermediateCA(rand.Reader, f.root, kms.CryptoSigner(t.Context(), f.rootKey), newSigner(t).Public(), cn, issued, validity)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) bundle(version uint64) bundle.Bundle {
	return bundle.Bundle{
		Version:           version,
		Roots:             []*x509.Certificate{f.root},
		Intermediates:     []*x509.Certificate{f.inter},
		SignerCertificate: f.bundleCert,
	}
}

// revocationList is a signed list valid from issued for a week.
func (f *fixture) revocationList(t *testing.T, version uint64, issued time.Time) []byte {
	t.Helper()
	l, err := revocation.Build(revocation.Input{
		Issuer: "test marketplace", Version: version, IssuedAt: issued, NextUpdate: issued.Add(7 * day),
		Certificates: []revocation.RevokedCertificate{{Issuer: f.inter.Subject.String(), Serial: "0a1b", EffectiveFrom: issued, Reason: revocation.ReasonKeyCompromise}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := revocation.Sign(t.Context(), l, f.revKey, f.revocationCert)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// crl is the intermediate's CRL number n, valid from issued for a week.
func (f *fixture) crl(t *testing.T, n int64, issued time.Time) []byte {
	t.Helper()
	der, err := revocation.BuildCRL(t.Context(), f.inter, f.interKey, big.NewInt(n),
		[]revocation.CRLEntry{{Serial: big.NewInt(0x0a1b), RevokedAt: issued, Reason: revocation.ReasonKeyCompromise}}, issued, issued.Add(7*day))
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// export writes b into a new directory and returns its path.
func (f *fixture) export(t *testing.T, b bundle.Bundle, now time.Time) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), fmt.Sprintf("trust-bundle-v%d", b.Version))
	if err := bundle.Export(t.Context(), dir, b, f.bundleKey, now); err != nil {
		t.Fatal(err)
	}
	return dir
}

func (f *fixture) trust() bundle.Trust {
	return bundle.Trust{Roots: []*x509.Certificate{f.root}}
}

// storeDir returns a trust-store path that does not exist yet; the test's
// cleanup can remove it even after Install made it read-only.
func storeDir(t *testing.T) string {
	t.Helper()
	parent := t.TempDir()
	dir := filepath.Join(parent, "truststore")
	t.Cleanup(func() { makeWritable(dir) })
	return dir
}

func makeWritable(dir string) {
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(path, 0o755)
		}
		return nil
	})
}

// copyDir copies a bundle directory so a test can damage the copy.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// overwrite replaces a (read-only) file's content.
func overwrite(t *testing.T, path string, data []byte) {
	t.Helper()
	_ = os.Chmod(path, 0o644)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writePEM(t *testing.T, dir, name string, certs ...*x509.Certificate) {
	t.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, chain.CertificatePEM(c)...)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o444); err != nil {
		t.Fatal(err)
	}
}

// fileName is the bundle file name of a CA certificate.
func fileName(role string, c *x509.Certificate) string {
	return role + "-" + bundle.Fingerprint(c)[:16] + ".pem"
}

// requireTool returns the path of an external tool. Without it the test is
// skipped on a laptop but fails in CI (CI=true).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return path
}

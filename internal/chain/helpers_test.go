package chain

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// testNow is the fixed clock of these tests.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

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

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// testChain is a root, intermediate and signing certificate with their keys.
type testChain struct {
	root, inter, leaf          *x509.Certificate
	rootKey, interKey, leafKey ed25519.PrivateKey
}

func newTestChain(t *testing.T, now time.Time) testChain {
	t.Helper()
	c := testChain{rootKey: newKey(t), interKey: newKey(t), leafKey: newKey(t)}
	var err error
	if c.root, err = NewRootCA(rand.Reader, c.rootKey, "test root CA", now, 10*365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if c.inter, err = NewIntermediateCA(rand.Reader, c.root, c.rootKey, pubOf(c.interKey), "test marketplace CA", now, 5*365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	c.leaf = c.newLeaf(t, pubOf(c.leafKey), now, 365*24*time.Hour)
	return c
}

func (c testChain) newLeaf(t *testing.T, pub ed25519.PublicKey, now time.Time, validity time.Duration) *x509.Certificate {
	t.Helper()
	leaf, err := NewSigningCertificate(rand.Reader, c.inter, c.interKey, pub, "test signing", now, validity)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

// writePEMFile writes certs as PEM into dir/name and returns the path.
func writePEMFile(t *testing.T, dir, name string, certs ...*x509.Certificate) string {
	t.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, CertificatePEM(c)...)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func errorAs(err error, target any) bool { return errors.As(err, target) }

// craftCert signs an arbitrary template, for profiles the issuing functions
// refuse to produce. parent == tmpl makes it self-signed.
func craftCert(t *testing.T, tmpl, parent *x509.Certificate, pub any, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	if tmpl.SerialNumber == nil {
		serial, err := newSerial(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.SerialNumber = serial
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// selfSignedLeaf is a customer's own custom-app certificate: self-signed,
// not a CA, as made with openssl req -x509.
func selfSignedLeaf(t *testing.T, key ed25519.PrivateKey, now time.Time, validity time.Duration, eku []x509.ExtKeyUsage) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "customer custom apps"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           eku,
		BasicConstraintsValid: true,
	}
	return craftCert(t, tmpl, tmpl, pubOf(key), key)
}

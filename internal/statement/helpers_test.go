package statement

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
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

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// statementFor returns a valid statement about archive.
func statementFor(archive []byte) Statement {
	s256, s512 := sha256.Sum256(archive), sha512.Sum512(archive)
	return Statement{
		AppKey:      "com.example.time-sheets",
		Version:     "1.4.2",
		Track:       TrackMarketplace,
		ArchiveSize: int64(len(archive)),
		SHA256:      s256[:],
		SHA512:      s512[:],
		SignedAt:    time.Date(2026, 3, 1, 11, 59, 30, 123456000, time.UTC),
		KeyID:       "marketplace-signing",
		KeyVersion:  3,
	}
}

// testChain is a root, intermediate and signing certificate with their keys.
type testChain struct {
	root, inter, leaf          *x509.Certificate
	rootKey, interKey, leafKey ed25519.PrivateKey
}

func newTestChain(t testing.TB, now time.Time) testChain {
	t.Helper()
	c := testChain{rootKey: newKey(t), interKey: newKey(t), leafKey: newKey(t)}
	var err error
	if c.root, err = chain.NewRootCA(rand.Reader, c.rootKey, "test root CA", now, 10*365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if c.inter, err = chain.NewIntermediateCA(rand.Reader, c.root, c.rootKey, pubOf(c.interKey), "test marketplace CA", now, 5*365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if c.leaf, err = chain.NewSigningCertificate(rand.Reader, c.inter, c.interKey, pubOf(c.leafKey), "test digest signing", now, 365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c testChain) store() *chain.TrustStore { return chain.NewTrustStore(c.root, c.inter) }

// signedFile signs st's encoding with key and carries cert.
func signedFile(t testing.TB, key ed25519.PrivateKey, st Statement, cert *x509.Certificate) File {
	t.Helper()
	msg, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return File{Statement: msg, Signature: ed25519.Sign(key, msg), Certificate: chain.CertificatePEM(cert)}
}

// memSigner is an in-memory kms.Signer that, like AWS KMS, signs at most
// 4096 bytes. sign, if set, replaces the signature it returns.
type memSigner struct {
	key   ed25519.PrivateKey
	sign  func(msg []byte) ([]byte, error)
	calls atomic.Int32
}

var _ kms.Signer = (*memSigner)(nil)

func (s *memSigner) URI() kms.URI              { return kms.NewURI("memkms", map[string]string{"name": "test"}) }
func (s *memSigner) Public() ed25519.PublicKey { return pubOf(s.key) }
func (s *memSigner) Limits() kms.Limits        { return kms.Limits{MaxMessage: 4096} }
func (s *memSigner) Close() error              { return nil }

func (s *memSigner) SignMessage(ctx context.Context, msg []byte) ([]byte, error) {
	s.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(msg) > 4096 {
		return nil, fmt.Errorf("memkms: %w", kms.ErrMessageTooLarge)
	}
	if s.sign != nil {
		return s.sign(msg)
	}
	return ed25519.Sign(s.key, msg), nil
}

// readGuard fails the test if the archive is read.
type readGuard struct{ t *testing.T }

func (g readGuard) Read([]byte) (int, error) {
	g.t.Error("archive read although the signature file is not trusted")
	return 0, fmt.Errorf("must not be read")
}

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// flipByte returns b with the byte at i changed.
func flipByte(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0x01
	return b
}

// craftCert issues tmpl for pub with parentKey as parent, for profiles the
// chain package refuses to produce.
func craftCert(t testing.TB, tmpl, parent *x509.Certificate, parentKey ed25519.PrivateKey, pub any) *x509.Certificate {
	t.Helper()
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

package keystore_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is one test's database, software key backend and CA.
type env struct {
	url  string
	pool *pgxpool.Pool
	dir  string // softkms key directory
	soft *faultBackend
	reg  *kms.Registry
	ca   *testCA
	logs *logSink
}

// newEnv migrates a fresh database (the real migrations) and sets up a
// software backend in t.TempDir() behind a fault injector.
func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvAt(t, pgtest.URL(t))
}

// newEnvAt is newEnv on the empty database at url.
func newEnvAt(t testing.TB, url string) *env {
	t.Helper()
	if err := ledger.Migrate(t.Context(), url); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	e := &env{url: url, pool: newPool(t, url), dir: t.TempDir(), ca: newTestCA(t), logs: &logSink{}}
	e.soft = &faultBackend{Backend: softkms.New(softkms.Options{Dir: e.dir})}
	reg, err := kms.NewRegistry(e.soft)
	if err != nil {
		t.Fatal(err)
	}
	e.reg = reg
	return e
}

func newPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// store returns a Store on e, closed when the test ends.
func (e *env) store(t testing.TB, opts keystore.Options) *keystore.Store {
	t.Helper()
	return e.storeOn(t, e.pool, opts)
}

// replica returns a Store with its own pool, like another server process.
func (e *env) replica(t testing.TB) *keystore.Store {
	t.Helper()
	return e.storeOn(t, newPool(t, e.url), keystore.Options{})
}

func (e *env) storeOn(t testing.TB, pool *pgxpool.Pool, opts keystore.Options) *keystore.Store {
	t.Helper()
	if opts.Log == nil {
		opts.Log = e.logs.logger()
	}
	s := keystore.New(pool, e.reg, e.ca, opts)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// keyFiles lists the key files in the software backend's directory.
func (e *env) keyFiles(t testing.TB) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(e.dir, "*.key"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

var soft = keystore.BackendSpec{Scheme: softkms.Scheme}

const actor = "alice@security"

// logSink collects Options.Log records as text lines; safe after the
// test ends.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

// logger returns a logger writing to l.
func (l *logSink) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// Write takes one record (slog's text handler writes each in one call).
func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// testCA is a root and intermediate CA issuing signing certificates the
// way the service does (chain.NewSigningCertificate), with faults.
type testCA struct {
	root, inter *x509.Certificate
	interKey    ed25519.PrivateKey

	mu       sync.Mutex
	fail     error
	wrongKey bool
	issued   int
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	now := time.Now()
	_, rootKey, _ := ed25519.GenerateKey(rand.Reader)
	interPub, interKey, _ := ed25519.GenerateKey(rand.Reader)
	root, err := chain.NewRootCA(rand.Reader, rootKey, "keystore test root", now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	inter, err := chain.NewIntermediateCA(rand.Reader, root, rootKey, interPub, "keystore test CA", now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{root: root, inter: inter, interKey: interKey}
}

func (ca *testCA) IssueSigningCert(_ context.Context, keyName string, pub ed25519.PublicKey, now time.Time) (*x509.Certificate, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if ca.fail != nil {
		return nil, ca.fail
	}
	if ca.wrongKey {
		pub, _, _ = ed25519.GenerateKey(rand.Reader)
	}
	ca.issued++
	return chain.NewSigningCertificate(rand.Reader, ca.inter, ca.interKey, pub, "appsign "+keyName, now, time.Hour)
}

func (ca *testCA) set(fn func(*testCA)) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	fn(ca)
}

// verifyChain checks cert chains to the test root for code signing.
func (ca *testCA) verifyChain(t testing.TB, cert *x509.Certificate) {
	t.Helper()
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(ca.root)
	inters.AddCert(ca.inter)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}); err != nil {
		t.Errorf("certificate %x does not chain to the CA: %v", cert.SerialNumber, err)
	}
}

// faultBackend wraps a backend that creates and destroys keys, records
// what it created and destroyed, and injects faults.
type faultBackend struct {
	kms.Backend

	mu         sync.Mutex
	failCreate error
	// failDestroy fails DestroyKey after recording the call.
	failDestroy error
	// failLoad and badSig apply to keys created after armedAt (keys
	// created before stay healthy, as in a backend whose new key is bad).
	failLoad   error
	badSig     bool  // signers return corrupt signatures
	armedAt    int   // index into created
	maxMessage int64 // if > 0, signers claim they cannot sign more
	created    []kms.URI
	destroyed  []kms.URI
}

var errInjected = errors.New("injected fault")

func (f *faultBackend) set(fn func(*faultBackend)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armedAt = len(f.created)
	fn(f)
}

// armed reports whether faults apply to uri. The caller holds f.mu.
func (f *faultBackend) armed(uri kms.URI) bool {
	for _, c := range f.created[:f.armedAt] {
		if c.String() == uri.String() {
			return false
		}
	}
	return true
}

func (f *faultBackend) CreateKey(ctx context.Context, req kms.CreateKeyRequest) (kms.URI, error) {
	f.mu.Lock()
	fail := f.failCreate
	f.mu.Unlock()
	if fail != nil {
		return kms.URI{}, fail
	}
	uri, err := f.Backend.(kms.KeyCreator).CreateKey(ctx, req)
	if err == nil {
		f.mu.Lock()
		f.created = append(f.created, uri)
		f.mu.Unlock()
	}
	return uri, err
}

func (f *faultBackend) DestroyKey(ctx context.Context, uri kms.URI) error {
	f.mu.Lock()
	f.destroyed = append(f.destroyed, uri)
	fail := f.failDestroy
	f.mu.Unlock()
	if fail != nil {
		return fail
	}
	return f.Backend.(kms.KeyDestroyer).DestroyKey(ctx, uri)
}

func (f *faultBackend) LoadSigner(ctx context.Context, uri kms.URI) (kms.Signer, error) {
	f.mu.Lock()
	fail, bad, max := f.failLoad, f.badSig, f.maxMessage
	if !f.armed(uri) {
		fail, bad = nil, false
	}
	f.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	s, err := f.Backend.LoadSigner(ctx, uri)
	if err != nil {
		return nil, err
	}
	if bad || max > 0 {
		return &faultySigner{Signer: s, bad: bad, max: max}, nil
	}
	return s, nil
}

func (f *faultBackend) counts() (created, destroyed []kms.URI) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]kms.URI(nil), f.created...), append([]kms.URI(nil), f.destroyed...)
}

type faultySigner struct {
	kms.Signer
	bad bool
	max int64
}

func (s *faultySigner) Limits() kms.Limits {
	if s.max > 0 {
		return kms.Limits{MaxMessage: s.max}
	}
	return kms.Limits{MaxMessage: kms.Unlimited}
}

func (s *faultySigner) SignMessage(ctx context.Context, msg []byte) ([]byte, error) {
	sig, err := s.Signer.SignMessage(ctx, msg)
	if err == nil && s.bad {
		sig[0] ^= 0xff
	}
	return sig, err
}

// states returns "v1:retired v2:active"-style summaries of k's versions.
func states(k keystore.Key) string {
	out := ""
	for i, v := range k.Versions {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("v%d:%s", v.Version, v.State)
	}
	return out
}

// mustSign signs msg with l and checks the signature against l's public
// key and certificate.
func mustSign(t testing.TB, l *keystore.Loaded, msg []byte) []byte {
	t.Helper()
	sig, err := l.Signer.SignMessage(t.Context(), msg)
	if err != nil {
		t.Fatalf("%s v%d: SignMessage: %v", l.Name, l.Version.Version, err)
	}
	if !ed25519.Verify(l.PublicKey, msg, sig) {
		t.Fatalf("%s v%d: signature does not verify under the version's public key", l.Name, l.Version.Version)
	}
	if l.Cert != nil && !l.Cert.PublicKey.(ed25519.PublicKey).Equal(l.PublicKey) {
		t.Fatalf("%s v%d: certificate is for another key", l.Name, l.Version.Version)
	}
	return sig
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

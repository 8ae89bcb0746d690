package translog_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/translog"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const testOrigin = "appsign.test/ledger"

// memSigner is an in-memory ledger key with a KMS-like message limit.
type memSigner struct {
	priv  ed25519.PrivateKey
	calls atomic.Int64
}

func newMemSigner(name string) *memSigner {
	seed := sha256.Sum256([]byte(name))
	return &memSigner{priv: ed25519.NewKeyFromSeed(seed[:])}
}

func (s *memSigner) URI() kms.URI              { return kms.URI{Scheme: "memory"} }
func (s *memSigner) Public() ed25519.PublicKey { return s.priv.Public().(ed25519.PublicKey) }
func (s *memSigner) Limits() kms.Limits        { return kms.Limits{MaxMessage: 4096} }
func (s *memSigner) Close() error              { return nil }

func (s *memSigner) SignMessage(ctx context.Context, msg []byte) ([]byte, error) {
	if len(msg) > 4096 {
		return nil, kms.ErrMessageTooLarge
	}
	s.calls.Add(1)
	return ed25519.Sign(s.priv, msg), nil
}

// verifiers returns the note verifiers of s under the test origin.
func (s *memSigner) verifiers(t testing.TB) note.Verifiers {
	t.Helper()
	v, err := translog.NoteVerifier(testOrigin, s.Public())
	if err != nil {
		t.Fatal(err)
	}
	return note.VerifierList(v)
}

// clock is a test clock that ticks a millisecond per reading.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Millisecond)
	return c.now
}

// newDB returns the URL of a fresh, migrated database.
func newDB(t testing.TB) string {
	t.Helper()
	url := pgtest.URL(t)
	if err := ledger.Migrate(t.Context(), url); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return url
}

// newPool returns a pool on url, closed when the test ends.
func newPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// openLog opens a Log with the test origin and, unless set, a memSigner
// and a test clock; it is closed when the test ends.
func openLog(t testing.TB, pool *pgxpool.Pool, opts translog.Options) *translog.Log {
	t.Helper()
	if opts.Origin == "" {
		opts.Origin = testOrigin
	}
	if opts.Signer == nil {
		opts.Signer = newMemSigner("ledger")
	}
	if opts.Now == nil {
		opts.Now = newClock().Now
	}
	l, err := translog.Open(t.Context(), pool, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(l.Close)
	return l
}

// newLog is openLog on a fresh database; it also returns a superuser
// connection to the database for tampering.
func newLog(t testing.TB, opts translog.Options) (*translog.Log, *pgx.Conn) {
	t.Helper()
	url := newDB(t)
	l := openLog(t, newPool(t, url), opts)
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.WithoutCancel(t.Context())) })
	return l, conn
}

// appendN appends n leaves with payloads "event <i>" and returns them.
func appendN(t testing.TB, l *translog.Log, n int) []translog.Appended {
	t.Helper()
	out := make([]translog.Appended, n)
	for i := range n {
		a, err := l.Append(t.Context(), translog.KindSignature, payload(i))
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		out[i] = a
	}
	return out
}

func payload(i int) []byte { return fmt.Appendf(nil, `{"event":%d}`, i) }

// memTree is an in-memory tlog tree, the reference the tests check against.
type memTree struct {
	leaves [][]byte
	hashes []tlog.Hash // by stored hash index
}

func (m *memTree) add(t testing.TB, leaf []byte) {
	t.Helper()
	stored, err := tlog.StoredHashes(int64(len(m.leaves)), leaf, m)
	if err != nil {
		t.Fatal(err)
	}
	m.leaves = append(m.leaves, leaf)
	m.hashes = append(m.hashes, stored...)
}

func (m *memTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *memTree) tree(t testing.TB, n int64) tlog.Tree {
	t.Helper()
	h, err := tlog.TreeHash(n, m)
	if err != nil {
		t.Fatal(err)
	}
	return tlog.Tree{N: n, Hash: h}
}

// leafHash returns the stored level-0 hash of index i.
func (m *memTree) leafHash(i int64) tlog.Hash { return m.hashes[tlog.StoredHashIndex(0, i)] }

// sign returns a signed checkpoint of tree under the test origin.
func sign(t testing.TB, s *memSigner, tree tlog.Tree) []byte {
	t.Helper()
	ns, err := translog.NoteSigner(t.Context(), testOrigin, s)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := note.Sign(&note.Note{Text: string(translog.FormatCheckpoint(testOrigin, tree))}, ns)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// collect reads all entries of l in [0, to).
func collect(t testing.TB, l *translog.Log, to int64) []translog.Entry {
	t.Helper()
	var out []translog.Entry
	for e, err := range l.Entries(t.Context(), 0, to) {
		if err != nil {
			t.Fatalf("Entries: %v", err)
		}
		out = append(out, e)
	}
	return out
}

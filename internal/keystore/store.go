package keystore

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/appsign/signer/internal/kms"
)

// Issuer issues the signing certificate of a new archive-signing key
// version, e.g. with chain.NewSigningCertificate under an intermediate CA
// held in a backend (kms.CryptoSigner). The Store checks the certificate
// belongs to pub, is valid at now and allows code signing.
type Issuer interface {
	IssueSigningCert(ctx context.Context, keyName string, pub ed25519.PublicKey, now time.Time) (*x509.Certificate, error)
}

// DefaultArchiveSize is the default of Options.ArchiveSize: the largest
// archive the marketplace sends.
const DefaultArchiveSize int64 = 200 << 20

// Options configures a Store. The zero value works.
type Options struct {
	// Clock gives the time of records and certificate checks; nil means time.Now.
	Clock func() time.Time
	// Rand makes backend key names unique; nil means crypto/rand.
	Rand io.Reader
	// Log receives what the Store cannot return: backend keys it could not
	// destroy, Watch's reconnects and refresh failures. Nil discards them.
	// Records hold key names, versions and URIs, never secrets.
	Log *slog.Logger
	// OnEvent, if set, is called for every key_events row inside the
	// transaction that writes it, after the row is inserted. An error aborts
	// the transaction (and so the rotation). Use it to append a
	// transparency-log leaf atomically with the key change.
	OnEvent func(ctx context.Context, tx pgx.Tx, ev Event) error
	// ArchiveSize is how large a message an archive-signing key must be able
	// to pure-sign, in bytes; 0 means DefaultArchiveSize. Keys that cannot
	// (e.g. AWS KMS keys, 4096 bytes) are refused for that role.
	ArchiveSize int64
}

// Store manages keys in PostgreSQL and serves their signers. It is safe for
// concurrent use; several Stores (replicas) may share one database.
type Store struct {
	pool   *pgxpool.Pool
	reg    *kms.Registry
	issuer Issuer
	opts   Options

	// snap is what Active and Lookup read; writers hold mu, copy and swap.
	snap atomic.Pointer[snapshot]
	mu   sync.Mutex
	// evicted holds signers dropped from the snapshot (revoked versions)
	// that requests in flight may still use; Close closes them.
	evicted []kms.Signer
	closed  bool
}

// New returns a Store over a migrated database (migrations/00003_keystore.sql).
// It owns neither pool nor reg; Close closes only the signers it loaded.
// issuer may be nil when no archive-signing key is created or rotated.
func New(pool *pgxpool.Pool, reg *kms.Registry, issuer Issuer, opts Options) *Store {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.ArchiveSize <= 0 {
		opts.ArchiveSize = DefaultArchiveSize
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	s := &Store{pool: pool, reg: reg, issuer: issuer, opts: opts}
	s.snap.Store(&snapshot{active: map[string]*Loaded{}, versions: map[versionKey]*Loaded{}})
	return s
}

// Close closes every signer the Store loaded. Active and Lookup fail with
// ErrClosed afterwards; call it once requests have drained.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for _, l := range s.snap.Load().versions {
		errs = append(errs, l.Signer.Close())
	}
	for _, sg := range s.evicted {
		errs = append(errs, sg.Close())
	}
	s.evicted = nil
	s.snap.Store(&snapshot{active: map[string]*Loaded{}, versions: map[versionKey]*Loaded{}, closed: true})
	return errors.Join(errs...)
}

// now is the clock at PostgreSQL's precision, in UTC, so values read back
// equal values written.
func (s *Store) now() time.Time {
	return s.opts.Clock().UTC().Truncate(time.Microsecond)
}

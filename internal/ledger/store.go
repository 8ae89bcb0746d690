package ledger

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/appsign/signer/internal/translog"
)

// DefaultOrigin is the log origin of a Store opened without one. It names
// the log in checkpoints; a Store that signs none (no ledger key) only
// appends, and then the origin does not matter.
const DefaultOrigin = "appsign.local/ledger"

// Store reads and writes signature records and appends every ledger event
// to the tamper-evident log. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	log  atomic.Pointer[translog.Log]
	// revocations is set when the revocation tables (migrations/00006) exist:
	// entries then carry their revocation status.
	revocations bool
}

// Open connects a pool to databaseURL, checks the database answers and opens
// the log with DefaultOrigin and no ledger key (see OpenLog). It does not
// migrate: call Migrate first. Pool settings (pool_max_conns, ...) may be
// given as URL parameters.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgx's error quotes the URL, password redaction being best effort.
		return nil, fmt.Errorf("ledger: open: %w", ErrInvalidURL)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrap("open", err)
	}
	s := &Store{pool: pool}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := pool.QueryRow(ctx, `SELECT to_regclass('revocation_events') IS NOT NULL`).Scan(&s.revocations); err != nil {
		pool.Close()
		return nil, wrap("open: look for revocation tables", err)
	}
	if _, err := s.OpenLog(ctx, translog.Options{Origin: DefaultOrigin}); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// OpenLog replaces the Store's log with one opened with opts, typically to
// give it the origin and ledger key that sign checkpoints, and returns it
// (the Store closes it). Call it while wiring, before serving: appends in
// flight on the previous log complete, later ones use the new log.
func (s *Store) OpenLog(ctx context.Context, opts translog.Options) (*translog.Log, error) {
	l, err := translog.Open(ctx, s.pool, opts)
	if err != nil {
		return nil, wrap("open log", err)
	}
	if old := s.log.Swap(l); old != nil {
		old.Close()
	}
	return l, nil
}

// Log returns the log every ledger event is appended to: proofs,
// checkpoints and entries for auditors.
func (s *Store) Log() *translog.Log { return s.log.Load() }

// Close stops the log and closes the pool, waiting for connections in use
// to be returned.
func (s *Store) Close() {
	if l := s.log.Load(); l != nil {
		l.Close()
	}
	s.pool.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return wrap("ping", err)
	}
	return nil
}

// Pool returns the store's connection pool, for the other stores (keys,
// approvals) that share the ledger's database and its transactions.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// TracksRevocations reports whether entries carry their revocation status
// (Entry.Revoked, Filter.Revoked): whether the revocation tables exist.
func (s *Store) TracksRevocations() bool { return s.revocations }

package ledger

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Store reads and writes signature records. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects a pool to databaseURL and checks the database answers. It
// does not migrate: call Migrate first. Pool settings (pool_max_conns, ...)
// may be given as URL parameters.
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
	return s, nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (s *Store) Close() { s.pool.Close() }

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

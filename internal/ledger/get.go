package ledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Get returns the entry with the given id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (Entry, error) {
	query := s.selectEntries() + ` WHERE s.id = $1`
	e, err := scanEntry(s.pool.QueryRow(ctx, query, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Entry{}, fmt.Errorf("ledger: get entry %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Entry{}, wrap(fmt.Sprintf("get entry %d", id), err)
	}
	return e, nil
}

// FindByIdempotencyKey returns the entry the caller recorded under key, or
// ErrNotFound.
func (s *Store) FindByIdempotencyKey(ctx context.Context, caller, key string) (Entry, error) {
	query := s.selectEntries() + ` WHERE s.caller = $1 AND s.idempotency_key = $2`
	e, err := scanEntry(s.pool.QueryRow(ctx, query, caller, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return Entry{}, fmt.Errorf("ledger: find by idempotency key: %w", ErrNotFound)
	}
	if err != nil {
		return Entry{}, wrap("find by idempotency key", err)
	}
	return e, nil
}

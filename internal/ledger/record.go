package ledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Record inserts e (its ID is ignored) and returns the stored entry.
//
// When the caller already used e.IdempotencyKey, nothing is inserted: if the
// first record has the same AppKey, Version, Track and SHA256, Record returns
// it with replayed true; otherwise it returns ErrIdempotencyConflict.
// Concurrent Records with one key leave exactly one row.
func (s *Store) Record(ctx context.Context, e Entry) (stored Entry, replayed bool, err error) {
	e = e.normalize()
	if err := e.validate(); err != nil {
		return Entry{}, false, fmt.Errorf("ledger: record: %w", err)
	}

	// ON CONFLICT DO NOTHING waits for a concurrent insert of the same key to
	// commit, then inserts nothing; the SELECT below then sees that row.
	const insert = `
		INSERT INTO signatures (app_key, version, track, archive_size, sha256, sha512,
			key_id, key_version, cert_serial, signature, caller, review_ref,
			idempotency_key, signed_at, profile, statement)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (caller, idempotency_key) DO NOTHING
		RETURNING id`
	err = s.pool.QueryRow(ctx, insert,
		e.AppKey, e.Version, e.Track, e.ArchiveSize, e.SHA256, e.SHA512,
		e.KeyID, e.KeyVersion, e.CertSerial, e.Signature, e.Caller, e.ReviewRef,
		e.IdempotencyKey, e.SignedAt, e.Profile, e.Statement,
	).Scan(&e.ID)
	if err == nil {
		return e, false, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Entry{}, false, wrap("record", err)
	}

	first, err := s.FindByIdempotencyKey(ctx, e.Caller, e.IdempotencyKey)
	if err != nil {
		return Entry{}, false, fmt.Errorf("ledger: record: read the entry holding the idempotency key: %w", err)
	}
	if !first.SameRequest(e) {
		return Entry{}, false, fmt.Errorf("ledger: record: entry %d: %w", first.ID, ErrIdempotencyConflict)
	}
	return first, true, nil
}

package ledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/translog"
)

// errReplay tells Record that the callback found the idempotency key
// taken: no row, so no leaf.
var errReplay = errors.New("ledger: idempotency key already recorded")

// Record inserts e (its ID, LogIndex and Revoked are ignored) together with
// the log leaf that records it, and returns the stored entry once both have
// committed. The row is written inside the log's append transaction
// (translog.AppendWith), so the row and its leaf commit together, in
// batches shared with concurrent Records (group commit), and the row's
// log_index names its leaf. The leaf's payload is EncodeSignature of the
// stored entry.
//
// When the caller already used e.IdempotencyKey, nothing is inserted and no
// leaf is appended: if the first record has the same AppKey, Version,
// Track and SHA256, Record returns it with replayed true; otherwise it
// returns ErrIdempotencyConflict. Concurrent Records with one key leave
// exactly one row and one leaf.
func (s *Store) Record(ctx context.Context, e Entry) (stored Entry, replayed bool, err error) {
	e = e.normalize()
	e.Revoked = false
	if err := e.validate(); err != nil {
		return Entry{}, false, fmt.Errorf("ledger: record: %w", err)
	}

	// ON CONFLICT DO NOTHING waits for a concurrent insert of the same key to
	// commit, then inserts nothing; the callback then reports a replay.
	const insert = `
		INSERT INTO signatures (app_key, version, track, archive_size, sha256, sha512,
			key_id, key_version, cert_serial, signature, caller, review_ref,
			idempotency_key, signed_at, profile, statement, log_index)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		ON CONFLICT (caller, idempotency_key) DO NOTHING
		RETURNING id`
	in := e
	var out Entry // written by the callback, read only after AppendWith returns nil
	_, err = s.Log().AppendWith(ctx, translog.KindSignature, func(ctx context.Context, tx pgx.Tx, pos translog.Position) ([]byte, error) {
		row := in
		row.LogIndex = pos.Index
		err := tx.QueryRow(ctx, insert,
			row.AppKey, row.Version, row.Track, row.ArchiveSize, row.SHA256, row.SHA512,
			row.KeyID, row.KeyVersion, row.CertSerial, row.Signature, row.Caller, row.ReviewRef,
			row.IdempotencyKey, row.SignedAt, row.Profile, row.Statement, row.LogIndex,
		).Scan(&row.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, errReplay
		}
		if err != nil {
			return nil, err
		}
		out = row
		return EncodeSignature(row), nil
	})
	switch {
	case err == nil:
		return out, false, nil
	case !errors.Is(err, errReplay):
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

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
// (translog.AppendGroup), so the row and its leaf commit together, in
// batches shared with concurrent Records (group commit), and the row's
// log_index names its leaf. A batch's rows go in with one INSERT; when it
// cannot take them all (an idempotency key already used), the batch runs
// again row by row, so each Record gets its own answer. The leaf's payload
// is EncodeSignature of the stored entry.
//
// A key version the keystore holds as revoked (key_versions.state) cannot
// sign: the state is read inside the log's append transaction, under the
// lock on the log head, so a revocation committed before this Record's
// leaf is seen, on any replica, and one committed after it has a later
// leaf. Such a Record returns a *RevokedKeyError (ErrKeyVersionRevoked)
// and nothing is inserted or logged.
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
	item := newRecordItem(e)
	_, err = s.Log().AppendGroup(ctx, translog.KindSignature, signatureGroup{}, item, item.write)
	out := item.out // written by the batch, read only after AppendGroup returns nil
	switch {
	case err == nil:
		return out, false, nil
	case errors.Is(err, ErrKeyVersionRevoked):
		return Entry{}, false, fmt.Errorf("ledger: record: %w", err)
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

// signatureColumns are the columns Record writes, in signatureArgs order.
const signatureColumns = `app_key, version, track, archive_size, sha256, sha512,
	key_id, key_version, cert_serial, signature, caller, review_ref,
	idempotency_key, signed_at, profile, statement, log_index`

// insertSignature inserts one signatures row; a used idempotency key
// inserts nothing.
const insertSignature = `INSERT INTO signatures (` + signatureColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
	ON CONFLICT (caller, idempotency_key) DO NOTHING`

func signatureArgs(e Entry) []any {
	return []any{e.AppKey, e.Version, e.Track, e.ArchiveSize, e.SHA256, e.SHA512,
		e.KeyID, e.KeyVersion, e.CertSerial, e.Signature, e.Caller, e.ReviewRef,
		e.IdempotencyKey, e.SignedAt, e.Profile, e.Statement, e.LogIndex}
}

// recordItem is one Record in a batch: the entry to insert and, once the
// batch has written it, the stored row.
type recordItem struct {
	in, out Entry
	// tail is the leaf payload after entry_id (appendPayloadTail of in),
	// encoded by the caller before it queues: the batch only adds the id,
	// so the hex of a signature's fields is not encoded under the log lock.
	tail []byte
}

// newRecordItem returns the item recording e (normalized).
func newRecordItem(e Entry) *recordItem {
	return &recordItem{in: e, tail: appendPayloadTail(make([]byte, 0, 512+2*len(e.Statement)), e)}
}

// payload is EncodeSignature of the item's row once inserted as id.
func (item *recordItem) payload(id int64) []byte {
	return append(appendPayloadHead(make([]byte, 0, 40+len(item.tail)), id), item.tail...)
}

// write is the item's translog.TxFunc: the fallback of signatureGroup,
// writing the row alone. ON CONFLICT DO NOTHING waits for a concurrent
// insert of the same key to commit, then inserts nothing: errReplay.
func (item *recordItem) write(ctx context.Context, tx pgx.Tx, pos translog.Position) ([]byte, error) {
	row := item.in
	row.LogIndex = pos.Index
	if err := checkKeyVersion(ctx, tx, row.KeyID, row.KeyVersion); err != nil {
		return nil, err
	}
	err := tx.QueryRow(ctx, insertSignature+` RETURNING id`, signatureArgs(row)...).Scan(&row.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errReplay
	}
	if err != nil {
		return nil, err
	}
	item.out = row
	return item.payload(row.ID), nil
}

// signatureGroup writes the signatures rows of a batch in one statement
// (translog.Group); the per-row callback of Record is its fallback.
type signatureGroup struct{}

// insertSignatures inserts a batch of rows from column arrays, in index
// order, so that ids grow with log_index as the audit requires. Rows of a
// revoked key version are left out (one primary-key probe of key_versions
// each): the batch then has fewer ids than rows and runs again row by row,
// where checkKeyVersion names the version.
const insertSignatures = `INSERT INTO signatures (` + signatureColumns + `)
	SELECT ` + signatureColumns + `
	FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bytea[], $6::bytea[],
		$7::text[], $8::integer[], $9::text[], $10::bytea[], $11::text[], $12::text[],
		$13::text[], $14::timestamptz[], $15::text[], $16::bytea[], $17::bigint[])
		AS t (` + signatureColumns + `)
	WHERE NOT EXISTS (SELECT 1 FROM key_versions k
		WHERE k.name = t.key_id AND k.version = t.key_version AND k.state = 'revoked')
	ORDER BY log_index
	ON CONFLICT (caller, idempotency_key) DO NOTHING
	RETURNING id, log_index`

// errGroupFallback makes the batch run Record's callbacks one by one: a
// key was taken (a replay, possibly within the batch), a row's key version
// is revoked, or ids did not come out in index order.
var errGroupFallback = errors.New("ledger: write the batch row by row")

// Prepare implements translog.Group.
func (signatureGroup) Prepare(ctx context.Context, tx pgx.Tx, items []*translog.GroupItem) error {
	n := len(items)
	var c signatureCols
	c.grow(n)
	for _, it := range items {
		ri := it.Value.(*recordItem)
		row := ri.in
		row.LogIndex = it.Pos.Index
		ri.out = row
		c.add(row)
	}
	args := c.args()
	rows, err := tx.Query(ctx, insertSignatures, args...)
	if err != nil {
		return err
	}
	var id, index int64
	ids := make(map[int64]int64, n)
	if _, err := pgx.ForEachRow(rows, []any{&id, &index}, func() error { ids[index] = id; return nil }); err != nil {
		return err
	}
	if len(ids) != n {
		return errGroupFallback
	}
	last := int64(0)
	for _, it := range items { // index order
		ri := it.Value.(*recordItem)
		ri.out.ID = ids[it.Pos.Index]
		if ri.out.ID <= last {
			return errGroupFallback
		}
		last = ri.out.ID
		it.Payload = ri.payload(ri.out.ID)
	}
	return nil
}

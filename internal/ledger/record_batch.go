package ledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/appsign/signer/internal/translog"
)

// RecordResult is the outcome of one entry of RecordBatch, as Record
// would return it.
type RecordResult struct {
	Entry    Entry // the stored entry; for a replay, the one first recorded
	Replayed bool
	Err      error
}

// RecordBatch records entries as Record records each one, with the same
// answers (stored, replayed, ErrIdempotencyConflict, ErrKeyVersionRevoked,
// ErrInvalidEntry), but in one log transaction: the rows go in with one
// INSERT and the leaves with one, and they commit together, with
// consecutive log indexes, or none does (translog.AppendGroupAll). An
// entry that fails (an invalid entry, a revoked key version, a key another
// request holds) fails alone; the others are recorded.
//
// An idempotency key used twice in entries is recorded once, by its first
// entry; a later entry with the same key is a replay of that one (same
// request) or an ErrIdempotencyConflict. Keys already in the ledger are
// best looked up first (FindByIdempotencyKeys) and left out: a batch that
// meets one in the INSERT is written again row by row, under the log lock.
func (s *Store) RecordBatch(ctx context.Context, entries []Entry) []RecordResult {
	out := make([]RecordResult, len(entries))
	type key struct{ caller, idem string }
	first := make(map[key]int, len(entries))
	normal := make([]Entry, len(entries))
	var (
		items     []*recordItem
		values    []any
		fallbacks []translog.TxFunc
		at        []int // entries index of items[j]
		dups      []int
	)
	for i, e := range entries {
		e = e.normalize()
		e.Revoked = false
		normal[i] = e
		if err := e.validate(); err != nil {
			out[i].Err = fmt.Errorf("ledger: record: %w", err)
			continue
		}
		k := key{e.Caller, e.IdempotencyKey}
		if _, ok := first[k]; ok {
			dups = append(dups, i)
			continue
		}
		first[k] = i
		item := newRecordItem(e)
		items, values, fallbacks, at = append(items, item), append(values, item), append(fallbacks, item.write), append(at, i)
	}

	_, errs := s.Log().AppendGroupAll(ctx, translog.KindSignature, signatureGroup{}, values, fallbacks)
	var raced []int // keys another request recorded since the caller looked
	for j, err := range errs {
		i := at[j]
		switch {
		case err == nil:
			out[i].Entry = items[j].out // written by the batch, read after it answered
		case errors.Is(err, ErrKeyVersionRevoked):
			out[i].Err = fmt.Errorf("ledger: record: %w", err)
		case errors.Is(err, errReplay):
			raced = append(raced, i)
		default:
			out[i].Err = wrap("record", err)
		}
	}
	if len(raced) > 0 {
		s.resolveReplays(ctx, normal, raced, out)
	}
	for _, i := range dups {
		f := first[key{normal[i].Caller, normal[i].IdempotencyKey}]
		switch {
		case out[f].Err != nil:
			out[i].Err = out[f].Err
		case !out[f].Entry.SameRequest(normal[i]):
			out[i].Err = fmt.Errorf("ledger: record: entry %d: %w", out[f].Entry.ID, ErrIdempotencyConflict)
		default:
			out[i] = RecordResult{Entry: out[f].Entry, Replayed: true}
		}
	}
	return out
}

// resolveReplays answers the entries at idx, whose idempotency keys were
// found taken, from the entries holding them (one query).
func (s *Store) resolveReplays(ctx context.Context, entries []Entry, idx []int, out []RecordResult) {
	callers, keys := make([]string, len(idx)), make([]string, len(idx))
	for n, i := range idx {
		callers[n], keys[n] = entries[i].Caller, entries[i].IdempotencyKey
	}
	found, err := s.findByKeys(ctx, callers, keys)
	for _, i := range idx {
		e := entries[i]
		prev, ok := found[[2]string{e.Caller, e.IdempotencyKey}]
		switch {
		case err != nil:
			out[i].Err = fmt.Errorf("ledger: record: read the entry holding the idempotency key: %w", err)
		case !ok:
			out[i].Err = fmt.Errorf("ledger: record: read the entry holding the idempotency key: %w", ErrNotFound)
		case !prev.SameRequest(e):
			out[i].Err = fmt.Errorf("ledger: record: entry %d: %w", prev.ID, ErrIdempotencyConflict)
		default:
			out[i] = RecordResult{Entry: prev, Replayed: true}
		}
	}
}

// FindByIdempotencyKeys returns the entries caller recorded under any of
// keys, by key, in one query; keys not used are absent from the map.
func (s *Store) FindByIdempotencyKeys(ctx context.Context, caller string, keys []string) (map[string]Entry, error) {
	callers := make([]string, len(keys))
	for i := range callers {
		callers[i] = caller
	}
	found, err := s.findByKeys(ctx, callers, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Entry, len(found))
	for k, e := range found {
		out[k[1]] = e
	}
	return out, nil
}

// findByKeys looks up (callers[i], keys[i]) pairs through the unique index
// on (caller, idempotency_key).
func (s *Store) findByKeys(ctx context.Context, callers, keys []string) (map[[2]string]Entry, error) {
	out := make(map[[2]string]Entry)
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, s.selectEntries()+
		` WHERE (s.caller, s.idempotency_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, callers, keys)
	if err != nil {
		return nil, wrap("find by idempotency keys", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, wrap("find by idempotency keys", err)
		}
		out[[2]string{e.Caller, e.IdempotencyKey}] = e
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("find by idempotency keys", err)
	}
	return out, nil
}

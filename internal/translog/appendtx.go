package translog

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"
)

// AppendTx appends one leaf inside the caller's transaction tx, for events
// recorded by another store's transaction (a key rotation, a revocation):
// the event and its leaf commit together, or neither does. The caller
// learns the index at once, but it is only final when tx commits.
//
// It takes the sequencer lock (the log_head row) in tx and holds it until
// tx ends, so every other append on the database waits for that: call it
// last in short transactions, for rare events. Signatures, which are many,
// go through AppendWith and its batches instead. Like the sequencer, it
// refuses to extend a tree whose stored frontier does not hash to its root
// (ErrCorrupt).
func (l *Log) AppendTx(ctx context.Context, tx pgx.Tx, kind string, payload []byte) (Appended, error) {
	if !ValidKind(kind) {
		return Appended{}, fmt.Errorf("translog: append: kind %q: %w", kind, ErrInvalidKind)
	}
	if len(payload) > l.opts.MaxPayload {
		return Appended{}, fmt.Errorf("translog: append: %d-byte payload, at most %d: %w", len(payload), l.opts.MaxPayload, ErrPayloadTooLarge)
	}
	h, err := scanHead(tx.QueryRow(ctx, headQuery+` FOR UPDATE`))
	if err != nil {
		return Appended{}, wrap("append: lock log head", err)
	}
	edge, err := h.edge()
	if err != nil {
		return Appended{}, fmt.Errorf("translog: append: %w", err)
	}
	at := l.stamp(h)
	index := edge.n
	leaf := EncodeLeaf(kind, payload, at)
	leafHash := tlog.RecordHash(leaf)
	first := tlog.StoredHashIndex(0, index)
	stored, err := edge.append(leafHash)
	if err != nil {
		return Appended{}, fmt.Errorf("translog: append: hash leaf %d: %w", index, err)
	}
	var (
		lv leafColumns
		hv hashColumns
	)
	lv.add(index, kind, payload)
	for k, sh := range stored {
		hv.id = append(hv.id, first+int64(k))
		hv.hash = append(hv.hash, sh[:])
	}
	if err := writeLeaves(ctx, tx, edge, &lv, &hv, at); err != nil {
		return Appended{}, err
	}
	// Not committed yet: the publisher's delay normally outlasts the
	// caller's transaction, and its interval covers the rest.
	select {
	case l.appended <- struct{}{}:
	default:
	}
	return Appended{Index: index, LeafHash: leafHash, At: at}, nil
}

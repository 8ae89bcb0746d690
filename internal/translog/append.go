package translog

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"
)

// Appended says where an appended leaf went.
type Appended struct {
	Index    int64
	LeafHash tlog.Hash // tlog.RecordHash of the leaf
	At       time.Time // the timestamp inside the leaf
}

// Position is where a leaf is about to go, as AppendWith's callback sees it.
type Position struct {
	Index int64
	At    time.Time // the timestamp the leaf will carry
}

// TxFunc runs inside the append transaction before its leaf is written, and
// returns the leaf's payload. It lets a caller write its own rows (the
// signatures row of a signing, say) in the same transaction as the leaf
// that records them, knowing the leaf's index and timestamp, and build the
// payload from what it wrote: both commit, or neither does.
//
// When fn returns an error its writes are rolled back, no leaf is appended
// for it, AppendWith returns the error, and the other entries of the batch
// are unaffected. To keep the common case cheap, fn may run twice: first
// directly in the batch transaction, then — when any callback of the batch
// failed and that attempt was rolled back — again, in a savepoint of its
// own. So fn's effects must be confined to tx, and what it records for its
// caller must come from its last run. fn must use only
// tx, must not keep it, must not wait on anything that waits for the log
// (it runs while the sequencer lock is held), and should be quick: the
// batch's other entries wait for it. ctx is the batch's context, not the
// caller's. A row referencing log_leaves(idx) needs a DEFERRABLE INITIALLY
// DEFERRED foreign key: the leaves are written after the callbacks.
type TxFunc func(ctx context.Context, tx pgx.Tx, pos Position) (payload []byte, err error)

// A Group does the database work of many appends at once. A batch hands
// it the appends queued with AppendGroup for it, in index order, and the
// group writes all their rows in one statement instead of a callback's
// round trip per entry: the difference between about 4,000 and more than
// 10,000 ledger entries a second.
type Group interface {
	// Prepare runs in the batch transaction, under the log lock, after the
	// batch's TxFuncs and before the leaves are hashed. It writes the
	// items' rows and sets every item's Payload. Its writes are confined
	// to tx. An error (a conflict, a constraint, anything) rolls the
	// attempt back, and the batch runs again with each item's fallback
	// TxFunc in a savepoint of its own, so that only the failing item
	// fails.
	Prepare(ctx context.Context, tx pgx.Tx, items []*GroupItem) error
}

// GroupItem is one append of a Group in a batch.
type GroupItem struct {
	Pos     Position
	Value   any    // as given to AppendGroup
	Payload []byte // set by Prepare
}

// request is one queued append.
type request struct {
	ctx     context.Context
	kind    string
	payload []byte
	fn      TxFunc
	group   Group // with value, when the append is a group's; fn is its fallback
	value   any
	result  chan outcome // capacity 1
	// bundle are appends that must share this one's batch transaction
	// (AppendGroupAll): the sequencer admits them with it, in order.
	bundle []*request
}

type outcome struct {
	appended Appended
	err      error
}

// Append appends one leaf of the given kind and payload, timestamped by the
// log's clock when it is sequenced, and returns its index once the batch
// holding it has committed. Concurrent appends share batches (group
// commit); indexes are consecutive across every Log on the database.
//
// When ctx ends before the entry is sequenced it is dropped; when it ends
// while the batch is committing, Append returns ctx's error and the entry
// may or may not be in the log.
func (l *Log) Append(ctx context.Context, kind string, payload []byte) (Appended, error) {
	if len(payload) > l.opts.MaxPayload {
		return Appended{}, fmt.Errorf("translog: append: %d-byte payload, at most %d: %w", len(payload), l.opts.MaxPayload, ErrPayloadTooLarge)
	}
	return l.enqueue(ctx, &request{kind: kind, payload: payload})
}

// AppendWith is Append with the payload made by fn inside the append
// transaction; see TxFunc.
func (l *Log) AppendWith(ctx context.Context, kind string, fn TxFunc) (Appended, error) {
	if fn == nil {
		return Appended{}, fmt.Errorf("translog: append: nil callback")
	}
	return l.enqueue(ctx, &request{kind: kind, fn: fn})
}

// AppendGroup appends a leaf whose payload g prepares together with the
// other appends of g in the batch (see Group); value is handed to
// Prepare. fallback makes the payload alone, as for AppendWith, when the
// batch runs again entry by entry; it and Prepare must write the same
// rows and payload.
func (l *Log) AppendGroup(ctx context.Context, kind string, g Group, value any, fallback TxFunc) (Appended, error) {
	if g == nil || fallback == nil {
		return Appended{}, fmt.Errorf("translog: append: nil group or fallback")
	}
	return l.enqueue(ctx, &request{kind: kind, fn: fallback, group: g, value: value})
}

func (l *Log) enqueue(ctx context.Context, r *request) (Appended, error) {
	if !ValidKind(r.kind) {
		return Appended{}, fmt.Errorf("translog: append: kind %q: %w", r.kind, ErrInvalidKind)
	}
	r.ctx = ctx
	r.result = make(chan outcome, 1)
	select {
	case l.queue <- r:
	case <-l.stop:
		return Appended{}, fmt.Errorf("translog: append: %w", ErrClosed)
	case <-ctx.Done():
		return Appended{}, fmt.Errorf("translog: append: %w", ctx.Err())
	}
	select {
	case o := <-r.result:
		return o.appended, o.err
	case <-l.done:
		// The sequencer delivers before it exits: a result may be waiting.
		select {
		case o := <-r.result:
			return o.appended, o.err
		default:
			return Appended{}, fmt.Errorf("translog: append: %w", ErrClosed)
		}
	case <-ctx.Done():
		return Appended{}, fmt.Errorf("translog: append: %w", ctx.Err())
	}
}

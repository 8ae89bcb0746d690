package translog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"
)

// commit appends a batch in one transaction:
//
//  1. lock log_head (SELECT ... FOR UPDATE): Logs on other replicas wait
//     here, so indexes never fork, repeat or skip;
//  2. check the frontier stored in log_head hashes to the stored root, so
//     a batch never extends a tree it cannot vouch for;
//  3. give the entries consecutive indexes from the stored size, run their
//     callbacks, and compute their leaf hashes and tlog stored hashes;
//  4. insert the leaves and hashes, move log_head (size, root, frontier),
//     in one round trip, and commit.
//
// Appends queued while it waited for the lock join the batch. It returns
// the batch and one outcome per request; a request whose callback failed
// has its error there while the others commit. An error return fails them
// all.
func (l *Log) commit(ctx context.Context, batch []*request) ([]*request, []outcome, error) {
	// Callbacks first run directly in the batch transaction: a savepoint
	// per entry costs two round trips under the lock, and callbacks rarely
	// fail. If one does, the whole attempt is rolled back and the batch
	// runs again with a savepoint per callback, so only the failing
	// entries fail.
	batch, outcomes, err := l.commitAttempt(ctx, batch, false)
	careful := errors.Is(err, errRetryCareful)
	if careful {
		batch, outcomes, err = l.commitAttempt(ctx, batch, true)
	}
	if err == nil && l.opts.OnCommit != nil {
		leaves := 0
		for _, o := range outcomes {
			if o.err == nil {
				leaves++
			}
		}
		l.opts.OnCommit(leaves, careful)
	}
	return batch, outcomes, err
}

// errRetryCareful ends a fast attempt whose callback failed.
var errRetryCareful = errors.New("translog: a callback failed; retry with savepoints")

// commitAttempt is one try at commit; careful runs each callback in its
// own savepoint.
func (l *Log) commitAttempt(ctx context.Context, batch []*request, careful bool) ([]*request, []outcome, error) {
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		return batch, nil, wrap("append: begin", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	h, err := scanHead(tx.QueryRow(ctx, headQuery+` FOR UPDATE`))
	if err != nil {
		return batch, nil, wrap("append: lock log head", err)
	}
	batch = l.topUp(batch)
	edge, err := h.edge()
	if err != nil {
		return batch, nil, fmt.Errorf("translog: append: %w", err)
	}

	// One timestamp per batch, never earlier than the last leaf's, so leaf
	// times never decrease with the index even across replicas' clocks.
	at := l.stamp(h)

	outcomes := make([]outcome, len(batch))
	var payloads [][]byte
	if !careful {
		if payloads, err = l.fastPayloads(ctx, tx, batch, Position{Index: edge.n, At: at}); err != nil {
			return batch, nil, err
		}
	}
	var lv leafColumns
	var hv hashColumns
	for i, r := range batch {
		pos := Position{Index: edge.n, At: at}
		payload := r.payload
		if !careful {
			payload = payloads[i]
		}
		if r.fn != nil && careful {
			payload, err = l.callback(ctx, tx, r, pos)
			if err != nil {
				if errors.Is(err, errBatchBroken) {
					return batch, nil, err
				}
				outcomes[i].err = err
				continue
			}
		}
		leaf := EncodeLeaf(r.kind, payload, at)
		leafHash := tlog.RecordHash(leaf)
		first := tlog.StoredHashIndex(0, pos.Index)
		stored, err := edge.append(leafHash)
		if err != nil {
			return batch, nil, fmt.Errorf("translog: append: hash leaf %d: %w", pos.Index, err)
		}
		lv.add(pos.Index, r.kind, payload)
		for k, sh := range stored {
			hv.id = append(hv.id, first+int64(k))
			hv.hash = append(hv.hash, sh[:])
		}
		outcomes[i].appended = Appended{Index: pos.Index, LeafHash: leafHash, At: at}
	}
	if len(lv.idx) == 0 {
		return batch, outcomes, nil
	}

	if err := writeLeaves(ctx, tx, edge, &lv, &hv, at); err != nil {
		return batch, nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return batch, nil, wrap("append: commit", err)
	}
	return batch, outcomes, nil
}

// fastPayloads makes the payloads of a fast attempt, where no entry may
// fail: the TxFuncs run directly in tx, then each Group prepares its items
// at once. Entry i goes to index base.Index+i. Any failure returns
// errRetryCareful.
func (l *Log) fastPayloads(ctx context.Context, tx pgx.Tx, batch []*request, base Position) ([][]byte, error) {
	payloads := make([][]byte, len(batch))
	items := make([]*GroupItem, len(batch))
	var groups []Group
	members := map[Group][]*GroupItem{}
	for i, r := range batch {
		pos := Position{Index: base.Index + int64(i), At: base.At}
		switch {
		case r.group != nil:
			items[i] = &GroupItem{Pos: pos, Value: r.value}
			if _, ok := members[r.group]; !ok {
				groups = append(groups, r.group)
			}
			members[r.group] = append(members[r.group], items[i])
		case r.fn != nil:
			p, err := l.runCallback(ctx, tx, r, pos)
			if err != nil {
				return nil, errRetryCareful
			}
			payloads[i] = p
		default:
			payloads[i] = r.payload
		}
	}
	for _, g := range groups {
		if err := g.Prepare(ctx, tx, members[g]); err != nil {
			return nil, errRetryCareful
		}
	}
	for i, it := range items {
		if it == nil {
			continue
		}
		if it.Payload == nil || len(it.Payload) > l.opts.MaxPayload {
			return nil, errRetryCareful // the fallback says what is wrong
		}
		payloads[i] = it.Payload
	}
	return payloads, nil
}

// stamp returns the timestamp of leaves appended after h: the log's clock
// at microsecond precision, never before the last leaf's.
func (l *Log) stamp(h head) time.Time {
	at := time.UnixMicro(l.opts.Now().UnixMicro()).UTC()
	if at.Before(h.lastAt) {
		return h.lastAt
	}
	return at
}

// writeLeaves inserts the leaves and stored hashes of a batch and moves
// log_head to the tree edge now describes, in one round trip. tx must hold
// the log_head row lock under which edge was read.
func writeLeaves(ctx context.Context, tx pgx.Tx, edge *frontier, lv *leafColumns, hv *hashColumns, at time.Time) error {
	root, err := edge.root()
	if err != nil {
		return fmt.Errorf("translog: append: hash tree: %w", err)
	}
	const (
		insertLeaves = `INSERT INTO log_leaves (idx, kind, payload, appended_at)
			SELECT idx, kind, payload, $4 FROM unnest($1::bigint[], $2::text[], $3::bytea[]) AS t (idx, kind, payload)`
		insertHashes = `INSERT INTO log_hashes (id, hash) SELECT * FROM unnest($1::bigint[], $2::bytea[])`
		moveHead     = `UPDATE log_head SET tree_size = $1, root_hash = $2, frontier = $3, last_at = $4`
	)
	var writes pgx.Batch
	writes.Queue(insertLeaves, lv.idx, lv.kind, lv.payload, at)
	writes.Queue(insertHashes, hv.id, hv.hash)
	writes.Queue(moveHead, edge.n, root[:], edge.bytes(), at)
	if err := tx.SendBatch(ctx, &writes).Close(); err != nil {
		return wrap("append: write leaves, hashes and head", err)
	}
	return nil
}

// errBatchBroken marks a callback failure the batch transaction cannot
// recover from (its savepoint would not roll back).
var errBatchBroken = errors.New("batch transaction broken")

// runCallback runs r.fn in tx and checks the payload's size.
func (l *Log) runCallback(ctx context.Context, tx pgx.Tx, r *request, pos Position) ([]byte, error) {
	payload, err := r.fn(ctx, tx, pos)
	if err == nil && len(payload) > l.opts.MaxPayload {
		err = fmt.Errorf("translog: append: %d-byte payload, at most %d: %w", len(payload), l.opts.MaxPayload, ErrPayloadTooLarge)
	}
	return payload, err
}

// callback runs r.fn in a savepoint and returns its payload. An error from
// fn is returned with the savepoint rolled back; an error wrapping
// errBatchBroken means the whole transaction is lost.
func (l *Log) callback(ctx context.Context, tx pgx.Tx, r *request, pos Position) ([]byte, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("translog: append: savepoint: %w: %w", errBatchBroken, err)
	}
	payload, err := l.runCallback(ctx, sp, r, pos)
	if err != nil {
		if rbErr := sp.Rollback(ctx); rbErr != nil {
			return nil, fmt.Errorf("translog: append: roll back callback of leaf %d: %w: %w", pos.Index, errBatchBroken, rbErr)
		}
		return nil, fmt.Errorf("translog: append callback: %w", err)
	}
	if err := sp.Commit(ctx); err != nil {
		return nil, fmt.Errorf("translog: append: release savepoint: %w: %w", errBatchBroken, err)
	}
	return payload, nil
}

// leafColumns are the columns of the leaves a batch inserts: kind,
// payload and time, from which the leaf is encoded (EncodeLeaf). Its
// bytes and hash are not stored in the row (migration 00120): the hash is
// the stored level-0 hash in log_hashes, and the leaf would repeat the
// payload, ≈ 0.9 KB more per signature row.
type leafColumns struct {
	idx     []int64
	kind    []string
	payload [][]byte
}

func (c *leafColumns) add(idx int64, kind string, payload []byte) {
	c.idx = append(c.idx, idx)
	c.kind = append(c.kind, kind)
	c.payload = append(c.payload, payload)
}

// hashColumns are the columns of the stored hashes a batch inserts.
type hashColumns struct {
	id   []int64
	hash [][]byte
}

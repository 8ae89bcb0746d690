package translog

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"
)

// head is the log_head row: the size and root of the sequenced tree.
type head struct {
	tree     tlog.Tree
	frontier []byte    // the tree's frontier hashes, concatenated
	lastAt   time.Time // timestamp of the last leaf; zero for an empty log
}

// headQuery reads log_head. The sequencer appends FOR UPDATE: the row lock
// is what orders batches from every Log on the database.
const headQuery = `SELECT tree_size, root_hash, frontier, last_at FROM log_head`

func scanHead(row pgx.Row) (head, error) {
	var (
		h      head
		root   []byte
		lastAt *time.Time
	)
	if err := row.Scan(&h.tree.N, &root, &h.frontier, &lastAt); err != nil {
		return head{}, err
	}
	if len(root) != tlog.HashSize {
		return head{}, fmt.Errorf("%w: log_head root hash is %d bytes", ErrCorrupt, len(root))
	}
	h.tree.Hash = tlog.Hash(root)
	if lastAt != nil {
		h.lastAt = lastAt.UTC()
	}
	return h, nil
}

// head reads the current tree without locking.
func (l *Log) head(ctx context.Context) (head, error) {
	h, err := scanHead(l.pool.QueryRow(ctx, headQuery))
	if err != nil {
		return head{}, wrap("read log head", err)
	}
	return h, nil
}

// Size returns the number of leaves sequenced so far and the tree's root
// hash. It is not signed: see Checkpoint.
func (l *Log) Size(ctx context.Context) (tlog.Tree, error) {
	h, err := l.head(ctx)
	return h.tree, err
}

// edge returns the frontier of the head's tree, checked against its root:
// the sequencer never extends a tree it cannot vouch for.
func (h head) edge() (*frontier, error) {
	if len(h.frontier)%tlog.HashSize != 0 {
		return nil, fmt.Errorf("%w: log_head frontier is %d bytes", ErrCorrupt, len(h.frontier))
	}
	hashes := make([]tlog.Hash, len(h.frontier)/tlog.HashSize)
	for i := range hashes {
		hashes[i] = tlog.Hash(h.frontier[i*tlog.HashSize:])
	}
	f, err := newFrontier(h.tree.N, hashes)
	if err != nil {
		return nil, fmt.Errorf("%w: log_head: %w", ErrCorrupt, err)
	}
	if root, err := f.root(); err != nil || root != h.tree.Hash {
		return nil, fmt.Errorf("%w: log_head frontier does not hash to its root", ErrCorrupt)
	}
	return f, nil
}

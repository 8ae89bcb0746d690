package translog

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"
)

// querier is what reads need of a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// readHashes returns the stored hashes at the given tlog stored hash
// indexes, in the same order. A missing hash means the stored tree has a
// hole: ErrCorrupt.
func readHashes(ctx context.Context, q querier, indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	const query = `SELECT id, hash FROM log_hashes WHERE id = ANY($1)`
	rows, err := q.Query(ctx, query, indexes)
	if err != nil {
		return nil, wrap("read stored hashes", err)
	}
	found := make(map[int64]tlog.Hash, len(indexes))
	var (
		id   int64
		hash []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &hash}, func() error {
		if len(hash) != tlog.HashSize {
			return fmt.Errorf("%w: stored hash %d is %d bytes", ErrCorrupt, id, len(hash))
		}
		found[id] = tlog.Hash(hash)
		return nil
	})
	if err != nil {
		return nil, wrap("read stored hashes", err)
	}
	out := make([]tlog.Hash, len(indexes))
	for i, index := range indexes {
		h, ok := found[index]
		if !ok {
			level, n := tlog.SplitStoredHashIndex(index)
			return nil, fmt.Errorf("translog: stored hash %d (level %d, node %d) is missing: %w", index, level, n, ErrCorrupt)
		}
		out[i] = h
	}
	return out, nil
}

// hashReader is a tlog.HashReader over log_hashes, bound to ctx because
// tlog's interface has no context.
func hashReader(ctx context.Context, q querier) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		return readHashes(ctx, q, indexes)
	})
}

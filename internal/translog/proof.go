package translog

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// InclusionProof returns the proof that the tree of treeSize leaves holds
// leaf index (RFC 6962's audit path), for tlog.CheckRecord against the root
// of a checkpoint of that size. It needs 0 <= index < treeSize <= the
// sequenced size, else ErrOutOfRange.
func (l *Log) InclusionProof(ctx context.Context, index, treeSize int64) (tlog.RecordProof, error) {
	if err := l.checkSizes(ctx, index+1, treeSize, index >= 0); err != nil {
		return nil, fmt.Errorf("translog: inclusion proof of leaf %d in tree %d: %w", index, treeSize, err)
	}
	p, err := tlog.ProveRecord(treeSize, index, hashReader(ctx, l.pool))
	if err != nil {
		return nil, fmt.Errorf("translog: inclusion proof of leaf %d in tree %d: %w", index, treeSize, err)
	}
	return p, nil
}

// ConsistencyProof returns the proof that the tree of newSize leaves
// extends the tree of oldSize leaves (RFC 6962's consistency proof), for
// tlog.CheckTree against the roots of two checkpoints. It needs
// 1 <= oldSize <= newSize <= the sequenced size, else ErrOutOfRange.
func (l *Log) ConsistencyProof(ctx context.Context, oldSize, newSize int64) (tlog.TreeProof, error) {
	if err := l.checkSizes(ctx, oldSize, newSize, oldSize >= 1); err != nil {
		return nil, fmt.Errorf("translog: consistency proof of tree %d in tree %d: %w", oldSize, newSize, err)
	}
	p, err := tlog.ProveTree(newSize, oldSize, hashReader(ctx, l.pool))
	if err != nil {
		return nil, fmt.Errorf("translog: consistency proof of tree %d in tree %d: %w", oldSize, newSize, err)
	}
	return p, nil
}

// checkSizes checks ok, low <= high, and high <= the sequenced size.
func (l *Log) checkSizes(ctx context.Context, low, high int64, ok bool) error {
	if !ok || low > high {
		return ErrOutOfRange
	}
	h, err := l.head(ctx)
	if err != nil {
		return err
	}
	if high > h.tree.N {
		return fmt.Errorf("%w: the log has %d leaves", ErrOutOfRange, h.tree.N)
	}
	return nil
}

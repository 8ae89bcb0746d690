package translog

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint signs the sequenced tree with the ledger key, publishes the
// checkpoint to Options.Anchor, stores it in log_checkpoints and returns
// it. When the tree has not grown since the latest checkpoint, it returns
// that one (publishing it if the Anchor lacks it).
//
// Before signing it checks the stored tree: its stored hashes must hash to
// the stored root, and it must extend the latest stored checkpoint (signed
// by a trusted key) by a consistency proof over the stored hashes, and the
// latest checkpoint published to the Anchor likewise. Anything else is
// ErrCorrupt (ErrDiverged against the Anchor) and nothing is signed, so a
// database rewritten or cut back behind the service's back never gets a
// signature that would legitimize the rewrite, even when the rewrite
// removed the stored checkpoints too. The check runs on every call, so a
// refusal (CheckpointRefusal) is noticed without waiting for an append.
func (l *Log) Checkpoint(ctx context.Context) (Checkpoint, error) {
	cp, err := l.checkpoint(ctx)
	switch {
	case err == nil:
		l.refused.set(nil)
	case Refused(err):
		l.refused.set(err)
	}
	if l.opts.OnCheckpoint != nil {
		l.opts.OnCheckpoint(cp.Tree.N, err)
	}
	return cp, err
}

func (l *Log) checkpoint(ctx context.Context) (Checkpoint, error) {
	if l.opts.Signer == nil {
		return Checkpoint{}, fmt.Errorf("translog: checkpoint: %w", ErrNoSigner)
	}
	// The published checkpoint first: the tree read after it can only have
	// grown, whichever replica published it.
	published, err := l.latestPublished(ctx)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("translog: checkpoint: %w", err)
	}
	h, err := l.head(ctx)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("translog: checkpoint: %w", err)
	}
	if err := l.checkPublished(ctx, published, h.tree); err != nil {
		return Checkpoint{}, fmt.Errorf("translog: checkpoint of tree %d against published checkpoint %d: %w", h.tree.N, published.Tree.N, err)
	}
	// The latest checkpoint as signed, not as its row's columns say.
	var prev *tlog.Tree
	latest, err := l.Latest(ctx)
	switch {
	case errors.Is(err, ErrNoCheckpoint):
	case err != nil:
		return Checkpoint{}, fmt.Errorf("translog: checkpoint: %w", err)
	default:
		signed, err := OpenCheckpoint(latest.Note, l.opts.Origin, l.trusted)
		if err != nil {
			return Checkpoint{}, fmt.Errorf("translog: checkpoint: %w: latest stored checkpoint (tree %d) does not verify: %w", ErrCorrupt, latest.Tree.N, err)
		}
		if signed.Tree == h.tree {
			latest.Tree = signed.Tree
			if err := l.publish(ctx, published, latest); err != nil {
				return Checkpoint{}, fmt.Errorf("translog: checkpoint: %w", err)
			}
			return latest, nil
		}
		prev = &signed.Tree
	}
	if err := l.checkExtends(ctx, h.tree, prev); err != nil {
		return Checkpoint{}, fmt.Errorf("translog: checkpoint of tree %d: %w", h.tree.N, err)
	}

	signer, err := NoteSigner(ctx, l.opts.Origin, l.opts.Signer)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("translog: checkpoint: %w", err)
	}
	msg, err := note.Sign(&note.Note{Text: string(FormatCheckpoint(l.opts.Origin, h.tree))}, signer)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("translog: checkpoint: sign: %w", err)
	}
	cp := Checkpoint{Origin: l.opts.Origin, Tree: h.tree, Note: msg, CreatedAt: l.opts.Now().UTC()}

	// Published before it is stored: auditors are never served a
	// checkpoint that exists only where the database administrator can
	// remove it.
	if err := l.publish(ctx, published, cp); err != nil {
		return Checkpoint{}, fmt.Errorf("translog: checkpoint: %w", err)
	}
	// Another replica may have stored this size already: keep its row (the
	// same tree, so the same statement) and return it.
	const insert = `INSERT INTO log_checkpoints (tree_size, root_hash, note, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (tree_size) DO NOTHING`
	tag, err := l.pool.Exec(ctx, insert, cp.Tree.N, cp.Tree.Hash[:], cp.Note, cp.CreatedAt)
	if err != nil {
		return Checkpoint{}, wrap("checkpoint: store", err)
	}
	if tag.RowsAffected() == 0 {
		return l.checkpointAt(ctx, cp.Tree.N)
	}
	return cp, nil
}

// checkExtends checks that the stored hashes hash to tree and that tree
// extends the signed tree prev, if any, by a consistency proof.
func (l *Log) checkExtends(ctx context.Context, tree tlog.Tree, prev *tlog.Tree) error {
	r := hashReader(ctx, l.pool)
	root, err := tlog.TreeHash(tree.N, r)
	if err != nil {
		return err
	}
	if root != tree.Hash {
		return fmt.Errorf("%w: stored hashes do not hash to the stored root", ErrCorrupt)
	}
	switch {
	case prev == nil || prev.N == 0:
		return nil
	case prev.N > tree.N:
		return fmt.Errorf("%w: the log has %d leaves but checkpoint %d was signed", ErrCorrupt, tree.N, prev.N)
	}
	proof, err := tlog.ProveTree(tree.N, prev.N, r)
	if err != nil {
		return err
	}
	if err := tlog.CheckTree(proof, tree.N, tree.Hash, prev.N, prev.Hash); err != nil {
		return fmt.Errorf("%w: the stored tree does not extend signed checkpoint %d: %w", ErrCorrupt, prev.N, err)
	}
	return nil
}

const checkpointColumns = `tree_size, root_hash, note, created_at`

func scanCheckpoint(origin string, row pgx.Row) (Checkpoint, error) {
	cp := Checkpoint{Origin: origin}
	var root []byte
	if err := row.Scan(&cp.Tree.N, &root, &cp.Note, &cp.CreatedAt); err != nil {
		return Checkpoint{}, err
	}
	if len(root) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint %d root hash is %d bytes", ErrCorrupt, cp.Tree.N, len(root))
	}
	cp.Tree.Hash = tlog.Hash(root)
	cp.CreatedAt = cp.CreatedAt.UTC()
	return cp, nil
}

// Latest returns the stored checkpoint of the largest tree, or
// ErrNoCheckpoint. Its fields come from the database: auditors check the
// note with OpenCheckpoint.
func (l *Log) Latest(ctx context.Context) (Checkpoint, error) {
	const query = `SELECT ` + checkpointColumns + ` FROM log_checkpoints ORDER BY tree_size DESC LIMIT 1`
	cp, err := scanCheckpoint(l.opts.Origin, l.pool.QueryRow(ctx, query))
	if errors.Is(err, pgx.ErrNoRows) {
		return Checkpoint{}, fmt.Errorf("translog: latest checkpoint: %w", ErrNoCheckpoint)
	}
	if err != nil {
		return Checkpoint{}, wrap("latest checkpoint", err)
	}
	return cp, nil
}

// checkpointAt returns the stored checkpoint of the tree of n leaves.
func (l *Log) checkpointAt(ctx context.Context, n int64) (Checkpoint, error) {
	const query = `SELECT ` + checkpointColumns + ` FROM log_checkpoints WHERE tree_size = $1`
	cp, err := scanCheckpoint(l.opts.Origin, l.pool.QueryRow(ctx, query, n))
	if errors.Is(err, pgx.ErrNoRows) {
		return Checkpoint{}, fmt.Errorf("translog: checkpoint %d: %w", n, ErrNoCheckpoint)
	}
	if err != nil {
		return Checkpoint{}, wrap(fmt.Sprintf("checkpoint %d", n), err)
	}
	return cp, nil
}

// Checkpoints returns up to limit stored checkpoints of trees larger than
// after, smallest first: the signed history an auditor hands to Verify as
// Older, to localize damage and detect forks.
func (l *Log) Checkpoints(ctx context.Context, after int64, limit int) ([]Checkpoint, error) {
	if limit < 1 {
		return nil, fmt.Errorf("translog: list checkpoints: limit %d: %w", limit, ErrOutOfRange)
	}
	const query = `SELECT ` + checkpointColumns + ` FROM log_checkpoints
		WHERE tree_size > $1 ORDER BY tree_size LIMIT $2`
	rows, err := l.pool.Query(ctx, query, after, limit)
	if err != nil {
		return nil, wrap("list checkpoints", err)
	}
	cps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Checkpoint, error) {
		return scanCheckpoint(l.opts.Origin, row)
	})
	if err != nil {
		return nil, wrap("list checkpoints", err)
	}
	return cps, nil
}

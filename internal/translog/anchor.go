package translog

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/mod/sumdb/tlog"
)

// Anchor keeps signed checkpoints outside the database, where whoever
// administers the database cannot reach them (a directory on another
// system, an object-store bucket, witnesses): package anchor has the
// implementations. Checkpoint publishes every checkpoint it signs to the
// Anchor before storing it, and refuses to sign a tree that does not
// extend the latest one the Anchor holds.
type Anchor interface {
	// Latest returns the largest checkpoint published, with its signature
	// verified, or an error wrapping ErrNoCheckpoint when none was.
	Latest(ctx context.Context) (Checkpoint, error)
	// Publish stores cp. Publishing a checkpoint again is not an error;
	// publishing another tree of a size already published is (a fork).
	Publish(ctx context.Context, cp Checkpoint) error
}

// checkPublished checks the stored tree against the latest checkpoint
// published outside the database, read before the tree (so an honest
// tree can only be larger), if one was: a smaller tree, another root at
// the published size or a failed consistency proof is ErrDiverged.
func (l *Log) checkPublished(ctx context.Context, published *Checkpoint, tree tlog.Tree) error {
	if published == nil {
		return nil
	}
	if err := l.checkExtends(ctx, tree, &published.Tree); err != nil {
		if errors.Is(err, ErrCorrupt) {
			return fmt.Errorf("%w: %w", ErrDiverged, err)
		}
		return err
	}
	return nil
}

// latestPublished reads the Anchor's latest checkpoint; nil when there is
// no Anchor or nothing was published yet.
func (l *Log) latestPublished(ctx context.Context) (*Checkpoint, error) {
	if l.opts.Anchor == nil {
		return nil, nil
	}
	cp, err := l.opts.Anchor.Latest(ctx)
	switch {
	case errors.Is(err, ErrNoCheckpoint):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%w: read the latest published checkpoint: %w", ErrPublish, err)
	case cp.Origin != l.opts.Origin:
		return nil, fmt.Errorf("%w: the published checkpoint names origin %q, not %q", ErrPublish, cp.Origin, l.opts.Origin)
	}
	return &cp, nil
}

// publish hands cp to the Anchor unless the published one is as large.
func (l *Log) publish(ctx context.Context, published *Checkpoint, cp Checkpoint) error {
	if l.opts.Anchor == nil || published != nil && published.Tree.N >= cp.Tree.N {
		return nil
	}
	if err := l.opts.Anchor.Publish(ctx, cp); err != nil {
		return fmt.Errorf("%w: checkpoint %d: %w", ErrPublish, cp.Tree.N, err)
	}
	return nil
}

// refusal is the outcome of the last checkpoint attempt when it was
// refused: see CheckpointRefusal.
type refusal struct{ err atomic.Pointer[error] }

func (r *refusal) set(err error) {
	if err == nil {
		r.err.Store(nil)
		return
	}
	r.err.Store(&err)
}

// CheckpointRefusal returns why the last checkpoint attempt refused to
// sign (an error wrapping ErrDiverged, ErrCorrupt or ErrPublish), or nil
// when the last attempt signed or found nothing wrong. It stays set until
// an attempt succeeds: health checks report it.
func (l *Log) CheckpointRefusal() error {
	if p := l.refused.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Refused reports whether err is a refusal to sign, as opposed to a
// transient failure (the database or key backend unavailable).
func Refused(err error) bool {
	return errors.Is(err, ErrDiverged) || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrPublish)
}

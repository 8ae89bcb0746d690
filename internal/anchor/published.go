package anchor

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/appsign/signer/internal/translog"
)

// Object names in a Store.
const (
	// LatestName holds the largest checkpoint published.
	LatestName = "latest"
	// CheckpointPrefix is followed by the tree size, in decimal.
	CheckpointPrefix = "checkpoints/"
	// CosignedPrefix is followed by the tree size: the checkpoint with the
	// witnesses' cosignatures, when witnesses are configured.
	CosignedPrefix = "cosigned/"
)

// Published is the log's checkpoints in a Store: a translog.Anchor for
// the service, and the history `signerctl ledger verify --published-dir`
// checks the log against. Every note read is verified with the trusted
// ledger keys before it counts.
type Published struct {
	store     Store
	origin    string
	verifiers note.Verifiers

	// Witnesses, optional, cosign every checkpoint before it is written
	// (c2sp.org/tlog-witness); Prove gives them consistency proofs and must
	// be set with them. A witness that refuses a checkpoint as inconsistent
	// stops its publication (ErrWitnessFork); one that is down or
	// misconfigured does not, and is reported to OnWitness.
	Witnesses []*Witness
	Prove     Prover
	OnWitness func(w *Witness, err error)
}

// New returns the published checkpoints of the log origin in store,
// trusting notes signed by verifiers.
func New(store Store, origin string, verifiers note.Verifiers) *Published {
	return &Published{store: store, origin: origin, verifiers: verifiers}
}

var _ translog.Anchor = (*Published)(nil)

// Latest implements translog.Anchor: the checkpoint in "latest", or, if
// that is missing, the largest under "checkpoints/". A note that does not
// verify is an error, never skipped: the anchor exists to be trusted.
func (p *Published) Latest(ctx context.Context) (translog.Checkpoint, error) {
	msg, err := p.store.Get(ctx, LatestName)
	switch {
	case err == nil:
		cp, err := p.open(msg)
		if err != nil {
			return translog.Checkpoint{}, fmt.Errorf("anchor: %s: %w", LatestName, err)
		}
		return cp, nil
	case !errors.Is(err, ErrNotFound):
		return translog.Checkpoint{}, err
	}
	sizes, err := p.Sizes(ctx)
	if err != nil {
		return translog.Checkpoint{}, err
	}
	if len(sizes) == 0 {
		return translog.Checkpoint{}, fmt.Errorf("anchor: %w published", translog.ErrNoCheckpoint)
	}
	return p.At(ctx, sizes[len(sizes)-1])
}

// Publish implements translog.Anchor: it creates checkpoints/<size>
// (or finds the same tree there already) and moves latest forward.
func (p *Published) Publish(ctx context.Context, cp translog.Checkpoint) error {
	if _, err := p.open(cp.Note); err != nil {
		return fmt.Errorf("anchor: refusing to publish: %w", err)
	}
	// Witnesses first: one that refuses leaves nothing written, so the
	// next attempt meets the same refusal.
	cosigned, err := p.cosign(ctx, cp)
	if err != nil {
		return err
	}
	name := CheckpointPrefix + strconv.FormatInt(cp.Tree.N, 10)
	err = p.store.Create(ctx, name, cp.Note)
	if errors.Is(err, ErrExists) {
		have, err := p.At(ctx, cp.Tree.N)
		if err != nil {
			return err
		}
		if have.Tree != cp.Tree {
			return fmt.Errorf("%w: %s holds root %s, not %s", ErrFork, name, have.Tree.Hash, cp.Tree.Hash)
		}
	} else if err != nil {
		return err
	}
	if cosigned != nil {
		if err := p.store.Put(ctx, CosignedPrefix+strconv.FormatInt(cp.Tree.N, 10), cosigned); err != nil {
			return err
		}
	}
	// latest only grows; a replica that signed a smaller tree a moment
	// after another published a larger one leaves it alone.
	msg, err := p.store.Get(ctx, LatestName)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return err
	default:
		latest, err := p.open(msg)
		if err != nil {
			return fmt.Errorf("anchor: %s: %w", LatestName, err)
		}
		if latest.Tree.N >= cp.Tree.N {
			return nil
		}
	}
	return p.store.Put(ctx, LatestName, cp.Note)
}

// cosign has every witness cosign cp and returns the note with all the
// cosignatures obtained, or nil when there are none.
func (p *Published) cosign(ctx context.Context, cp translog.Checkpoint) ([]byte, error) {
	var lines []byte
	for _, w := range p.Witnesses {
		if p.Prove == nil {
			return nil, fmt.Errorf("%w: no consistency prover configured", ErrWitness)
		}
		msg, err := w.Cosign(ctx, cp, p.Prove)
		if errors.Is(err, ErrWitnessFork) {
			return nil, err
		}
		if p.OnWitness != nil {
			p.OnWitness(w, err)
		}
		if err == nil && len(msg) > len(cp.Note) {
			lines = append(lines, msg[len(cp.Note):]...)
		}
	}
	if lines == nil {
		return nil, nil
	}
	return append(bytes.Clone(cp.Note), lines...), nil
}

// At returns the published checkpoint of tree size n, verified.
func (p *Published) At(ctx context.Context, n int64) (translog.Checkpoint, error) {
	name := CheckpointPrefix + strconv.FormatInt(n, 10)
	msg, err := p.store.Get(ctx, name)
	if err != nil {
		return translog.Checkpoint{}, err
	}
	cp, err := p.open(msg)
	if err != nil {
		return translog.Checkpoint{}, fmt.Errorf("anchor: %s: %w", name, err)
	}
	if cp.Tree.N != n {
		return translog.Checkpoint{}, fmt.Errorf("%w: %s holds a checkpoint of size %d", ErrFork, name, cp.Tree.N)
	}
	return cp, nil
}

// Sizes returns the tree sizes under checkpoints/, ascending. Names that
// are not canonical decimals are ignored.
func (p *Published) Sizes(ctx context.Context) ([]int64, error) {
	names, err := p.store.List(ctx, CheckpointPrefix)
	if err != nil {
		return nil, err
	}
	var sizes []int64
	for _, name := range names {
		s := strings.TrimPrefix(name, CheckpointPrefix)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
			continue
		}
		sizes = append(sizes, n)
	}
	slices.SortFunc(sizes, cmp.Compare)
	return sizes, nil
}

// open verifies a note with the trusted keys and the origin.
func (p *Published) open(msg []byte) (translog.Checkpoint, error) {
	cp, err := translog.OpenCheckpoint(msg, p.origin, p.verifiers)
	if err != nil {
		return translog.Checkpoint{}, err
	}
	cp.Note = bytes.Clone(msg)
	return cp, nil
}

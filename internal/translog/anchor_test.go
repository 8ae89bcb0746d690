package translog_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/appsign/signer/internal/anchor"
	"github.com/appsign/signer/internal/translog"
)

// attempts records what OnCheckpoint reports.
type attempts struct {
	mu   sync.Mutex
	errs []error
}

func (a *attempts) record(_ int64, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errs = append(a.errs, err)
}

func (a *attempts) last() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.errs[len(a.errs)-1]
}

// anchoredLog is a Log whose checkpoints are published to a directory.
func anchoredLog(t *testing.T) (*translog.Log, *tamperer, *memSigner, *anchor.Published, *attempts) {
	t.Helper()
	key := newMemSigner("ledger")
	dir, err := anchor.NewDir(filepath.Join(t.TempDir(), "published"))
	if err != nil {
		t.Fatal(err)
	}
	pub := anchor.New(dir, testOrigin, key.verifiers(t))
	seen := &attempts{}
	l, conn := newLog(t, translog.Options{Signer: key, Anchor: pub, OnCheckpoint: seen.record})
	return l, &tamperer{conn: conn}, key, pub, seen
}

func TestCheckpointPublishes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	l, _, _, pub, seen := anchoredLog(t)
	for _, n := range []int{3, 4} {
		appendN(t, l, n)
		cp, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pub.Latest(ctx)
		if err != nil || got.Tree != cp.Tree || string(got.Note) != string(cp.Note) {
			t.Errorf("published latest = %v, %v; want the checkpoint of %d", got.Tree, err, cp.Tree.N)
		}
		if at, err := pub.At(ctx, cp.Tree.N); err != nil || at.Tree != cp.Tree {
			t.Errorf("published checkpoint %d = %v, %v", cp.Tree.N, at.Tree, err)
		}
	}
	if err := seen.last(); err != nil || l.CheckpointRefusal() != nil {
		t.Errorf("OnCheckpoint last saw %v, refusal %v; want none", err, l.CheckpointRefusal())
	}
}

// TestCheckpointRefusesToForkThePublished plays the database superuser
// (and the failover to a standby that lost transactions): the stored log
// is made consistent with itself, stored checkpoints included, but it no
// longer extends the checkpoint published outside the database. The
// ledger key must not sign it, however the log grows afterwards.
func TestCheckpointRefusesToForkThePublished(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		attack func(t *testing.T, tm *tamperer)
		// grow appends after the attack, as the service keeps doing.
		grow []int
	}{
		{"cut back to 5 of 8 leaves", func(t *testing.T, tm *tamperer) { tm.cutBack(t, 5) }, []int{0, 3, 4}},
		{"leaf 2 rewritten, tree recomputed, stored checkpoints deleted", func(t *testing.T, tm *tamperer) {
			tm.rewriteTree(t, 2, []byte("forged"))
			tm.exec(t, `DELETE FROM log_checkpoints WHERE tree_size > 2`)
		}, []int{0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			l, tm, key, pub, seen := anchoredLog(t)
			appendN(t, l, 8)
			if _, err := l.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			tt.attack(t, tm)
			calls := key.calls.Load()
			for _, n := range tt.grow {
				appendN(t, l, n)
				_, err := l.Checkpoint(ctx)
				if !errors.Is(err, translog.ErrDiverged) || !translog.Refused(err) {
					t.Fatalf("Checkpoint after the attack (+%d leaves) = %v, want ErrDiverged", n, err)
				}
				if got := l.CheckpointRefusal(); !errors.Is(got, translog.ErrDiverged) {
					t.Errorf("CheckpointRefusal = %v, want ErrDiverged", got)
				}
				if !errors.Is(seen.last(), translog.ErrDiverged) {
					t.Errorf("OnCheckpoint saw %v, want ErrDiverged", seen.last())
				}
			}
			if key.calls.Load() != calls {
				t.Error("the ledger key signed the forked tree")
			}
			if latest, err := pub.Latest(ctx); err != nil || latest.Tree.N != 8 {
				t.Errorf("published latest = %v, %v; want the honest tree of 8", latest.Tree, err)
			}
			if latest, err := l.Latest(ctx); err == nil && latest.Tree.N > 8 {
				t.Errorf("a checkpoint of %d leaves was stored", latest.Tree.N)
			}
		})
	}
}

// failingStore fails every call, like an unmounted or full volume.
type failingStore struct{}

var errVolume = errors.New("input/output error")

func (failingStore) Get(context.Context, string) ([]byte, error)    { return nil, errVolume }
func (failingStore) Create(context.Context, string, []byte) error   { return errVolume }
func (failingStore) Put(context.Context, string, []byte) error      { return errVolume }
func (failingStore) List(context.Context, string) ([]string, error) { return nil, errVolume }

// TestCheckpointWithoutItsAnchor: when the published checkpoints cannot
// be read or written, nothing is signed or stored (an unpublished
// checkpoint would be one the database administrator could take back).
func TestCheckpointWithoutItsAnchor(t *testing.T) {
	t.Parallel()
	key := newMemSigner("ledger")
	l, _ := newLog(t, translog.Options{Signer: key, Anchor: anchor.New(failingStore{}, testOrigin, key.verifiers(t))})
	appendN(t, l, 2)
	_, err := l.Checkpoint(t.Context())
	if !errors.Is(err, translog.ErrPublish) || !errors.Is(err, errVolume) {
		t.Fatalf("Checkpoint = %v, want ErrPublish wrapping the store's error", err)
	}
	if _, err := l.Latest(t.Context()); !errors.Is(err, translog.ErrNoCheckpoint) {
		t.Errorf("a checkpoint was stored without being published: %v", err)
	}
	if !errors.Is(l.CheckpointRefusal(), translog.ErrPublish) {
		t.Errorf("CheckpointRefusal = %v", l.CheckpointRefusal())
	}
}

// racingAnchor lets another replica sign and store the same checkpoint
// just before this one publishes it, the race between replicas that
// log_checkpoints' ON CONFLICT settles.
type racingAnchor struct {
	translog.Anchor
	first func()
	once  sync.Once
}

func (r *racingAnchor) Publish(ctx context.Context, cp translog.Checkpoint) error {
	r.once.Do(r.first)
	return r.Anchor.Publish(ctx, cp)
}

// TestCheckpointRaceKeepsTheStoredRow: when another replica stored the
// checkpoint of the same tree first, Checkpoint returns that stored row
// (its time), so every replica reports the same checkpoint.
func TestCheckpointRaceKeepsTheStoredRow(t *testing.T) {
	t.Parallel()
	key := newMemSigner("ledger")
	dir, err := anchor.NewDir(filepath.Join(t.TempDir(), "published"))
	if err != nil {
		t.Fatal(err)
	}
	url := newDB(t)
	tA := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tB := tA.Add(time.Hour)
	b := openLog(t, newPool(t, url), translog.Options{Signer: key, Now: func() time.Time { return tB }})
	var cb translog.Checkpoint
	var errB error
	race := &racingAnchor{Anchor: anchor.New(dir, testOrigin, key.verifiers(t)), first: func() { cb, errB = b.Checkpoint(t.Context()) }}
	a := openLog(t, newPool(t, url), translog.Options{Signer: key, Anchor: race, Now: func() time.Time { return tA }})
	appendN(t, a, 5)
	ca, err := a.Checkpoint(t.Context())
	if err != nil || errB != nil {
		t.Fatalf("Checkpoint: %v; the other replica's: %v", err, errB)
	}
	if !cb.CreatedAt.Equal(tB) || !ca.CreatedAt.Equal(tB) || string(ca.Note) != string(cb.Note) || ca.Tree != cb.Tree {
		t.Errorf("replicas returned %v at %v and %v at %v; want both the row stored first, at %v", ca.Tree, ca.CreatedAt, cb.Tree, cb.CreatedAt, tB)
	}
}

package translog_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/appsign/signer/internal/translog"
)

// commits records what OnCommit is told.
type commits struct {
	mu     sync.Mutex
	leaves int
	byItem []bool
}

func (c *commits) onCommit(leaves int, entryByEntry bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.leaves += leaves
	c.byItem = append(c.byItem, entryByEntry)
}

func (c *commits) take() (leaves int, byItem []bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	leaves, byItem = c.leaves, c.byItem
	c.leaves, c.byItem = 0, nil
	return leaves, byItem
}

// appendAllWith appends one AppendWith per function at once (one batch,
// with the test's batch delay) and returns their errors.
func appendAllWith(ctx context.Context, l *translog.Log, fns ...translog.TxFunc) []error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { _, errs[i] = l.AppendWith(ctx, translog.KindAdmin, fn) })
	}
	wg.Wait()
	return errs
}

func returns(payload []byte, err error) translog.TxFunc {
	return func(context.Context, pgx.Tx, translog.Position) ([]byte, error) { return payload, err }
}

// TestOnCommitCountsCommittedLeaves: OnCommit (the metrics' source) is told
// how many leaves each commit wrote and whether it had to go entry by
// entry: batches whose callbacks all succeed take the fast path; a failing
// callback sends its batch entry by entry, and its leaf is not counted.
func TestOnCommitCountsCommittedLeaves(t *testing.T) {
	t.Parallel()
	var c commits
	l, _ := newLog(t, translog.Options{BatchDelay: 200 * time.Millisecond, OnCommit: c.onCommit})
	ctx := t.Context()

	ok := returns([]byte("ok"), nil)
	for i, err := range appendAllWith(ctx, l, ok, ok, ok) {
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	leaves, byItem := c.take()
	if leaves != 3 || len(byItem) == 0 || slices.Contains(byItem, true) {
		t.Errorf("OnCommit saw %d leaves, entry by entry %v; want 3 leaves, all on the fast path", leaves, byItem)
	}

	refused := errors.New("the caller's row is refused")
	errs := appendAllWith(ctx, l, ok, returns(nil, refused), ok)
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], refused) {
		t.Fatalf("errors %v; want only the second (%v)", errs, refused)
	}
	leaves, byItem = c.take()
	if leaves != 2 || !slices.Contains(byItem, true) {
		t.Errorf("OnCommit saw %d leaves, entry by entry %v; want 2 leaves, the failed batch entry by entry", leaves, byItem)
	}
	if tree, err := l.Size(ctx); err != nil || tree.N != 5 {
		t.Errorf("Size = %v, %v; want 5 leaves", tree, err)
	}
}

// TestCallbackPayloadLimit: a callback's payload may be MaxPayload bytes,
// and one byte more fails that append alone with ErrPayloadTooLarge.
func TestCallbackPayloadLimit(t *testing.T) {
	t.Parallel()
	l, _ := newLog(t, translog.Options{MaxPayload: 16})
	ctx := t.Context()
	if a, err := l.AppendWith(ctx, translog.KindAdmin, returns(make([]byte, 16), nil)); err != nil || a.Index != 0 {
		t.Fatalf("AppendWith of 16 bytes = %+v, %v; want index 0", a, err)
	}
	if _, err := l.AppendWith(ctx, translog.KindAdmin, returns(make([]byte, 17), nil)); !errors.Is(err, translog.ErrPayloadTooLarge) {
		t.Fatalf("AppendWith of 17 bytes = %v; want ErrPayloadTooLarge", err)
	}
	if tree, err := l.Size(ctx); err != nil || tree.N != 1 {
		t.Errorf("Size = %v, %v; want the one leaf within the limit", tree, err)
	}
}

// sizedGroup gives each item a payload of the size its value names.
type sizedGroup struct{}

func (sizedGroup) Prepare(_ context.Context, _ pgx.Tx, items []*translog.GroupItem) error {
	for _, it := range items {
		it.Payload = make([]byte, it.Value.(int))
	}
	return nil
}

// TestGroupPayloadLimit: a group's payload of exactly MaxPayload bytes
// commits on the fast path; one byte more sends the batch to the
// fallbacks, which refuse it alone.
func TestGroupPayloadLimit(t *testing.T) {
	t.Parallel()
	var c commits
	l, _ := newLog(t, translog.Options{MaxPayload: 16, OnCommit: c.onCommit})
	ctx := t.Context()
	if _, err := l.AppendGroup(ctx, translog.KindAdmin, sizedGroup{}, 16, returns(make([]byte, 16), nil)); err != nil {
		t.Fatalf("AppendGroup of 16 bytes: %v", err)
	}
	if leaves, byItem := c.take(); leaves != 1 || slices.Contains(byItem, true) {
		t.Errorf("OnCommit saw %d leaves, entry by entry %v; want 1 on the fast path", leaves, byItem)
	}
	if _, err := l.AppendGroup(ctx, translog.KindAdmin, sizedGroup{}, 17, returns(make([]byte, 17), nil)); !errors.Is(err, translog.ErrPayloadTooLarge) {
		t.Fatalf("AppendGroup of 17 bytes = %v; want ErrPayloadTooLarge", err)
	}
}

// TestPlantedHashRowFailsTheAppend: a row planted in log_hashes where the
// next leaf's hash goes (a DBA's edit) makes the append fail with the
// database's own reason, and nothing of it is kept.
func TestPlantedHashRowFailsTheAppend(t *testing.T) {
	t.Parallel()
	l, conn := newLog(t, translog.Options{})
	ctx := t.Context()
	if _, err := conn.Exec(ctx, `INSERT INTO log_hashes (id, hash) VALUES (0, $1)`, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	_, err := l.Append(ctx, translog.KindAdmin, []byte("x"))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("Append = %v; want the unique violation on log_hashes", err)
	}
	if tree, err := l.Size(ctx); err != nil || tree.N != 0 {
		t.Errorf("Size = %v, %v; want an empty log", tree, err)
	}
	var leaves int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM log_leaves`).Scan(&leaves); err != nil || leaves != 0 {
		t.Errorf("%d leaves stored (%v); want none", leaves, err)
	}
}

// TestAppendTx: appends made in the caller's transaction take the next
// index, return their own leaf hash, keep the tree whole (a leaf at an
// odd index stores two hashes) and honour the payload limit exactly.
func TestAppendTx(t *testing.T) {
	t.Parallel()
	signer := newMemSigner("ledger")
	l, conn := newLog(t, translog.Options{MaxPayload: 16, Signer: signer})
	ctx := t.Context()
	appendTx := func(p []byte) (a translog.Appended, err error) {
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			a, err = l.AppendTx(ctx, tx, translog.KindAdmin, p)
			return err
		})
		return a, err
	}
	for i := range int64(3) {
		p := make([]byte, 16) // at the limit
		p[0] = byte(i)
		a, err := appendTx(p)
		if err != nil || a.Index != i || a.LeafHash != tlog.RecordHash(translog.EncodeLeaf(translog.KindAdmin, p, a.At)) {
			t.Fatalf("AppendTx %d = %+v, %v; want index %d and its leaf's hash", i, a, err, i)
		}
	}
	if _, err := appendTx(make([]byte, 17)); !errors.Is(err, translog.ErrPayloadTooLarge) {
		t.Fatalf("AppendTx of 17 bytes = %v; want ErrPayloadTooLarge", err)
	}
	cp, err := l.Checkpoint(ctx) // recomputes the root from the stored hashes
	if err != nil || cp.Tree.N != 3 {
		t.Fatalf("Checkpoint = %+v, %v; want a tree of 3", cp.Tree, err)
	}
	rep := translog.Verify(l.Entries(ctx, 0, 3), translog.VerifyOptions{Origin: testOrigin, Verifiers: signer.verifiers(t), Checkpoint: cp.Note})
	if !rep.OK() || rep.Entries != 3 {
		t.Errorf("Verify = %+v; want the log intact", rep)
	}
}

package translog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/appsign/signer/internal/translog"
)

func TestAppend(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l, _ := newLog(t, translog.Options{Now: clk.Now})
	var ref memTree
	got := appendN(t, l, 20)
	for i, a := range got {
		if a.Index != int64(i) {
			t.Errorf("append %d got index %d", i, a.Index)
		}
		leaf := translog.EncodeLeaf(translog.KindSignature, payload(i), a.At)
		if a.LeafHash != tlog.RecordHash(leaf) {
			t.Errorf("leaf %d: hash %v is not the hash of its leaf", i, a.LeafHash)
		}
		if i > 0 && !a.At.After(got[i-1].At) {
			t.Errorf("leaf %d at %v, not after leaf %d at %v (one append per batch)", i, a.At, i-1, got[i-1].At)
		}
		ref.add(t, leaf)
	}
	tree, err := l.Size(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := ref.tree(t, 20); tree != want {
		t.Errorf("Size = %v, want %v", tree, want)
	}
	entries := collect(t, l, 100)
	if len(entries) != 20 {
		t.Fatalf("Entries: %d entries, want 20", len(entries))
	}
	for i, e := range entries {
		if e.Index != int64(i) || !bytes.Equal(e.Leaf, ref.leaves[i]) || e.Hash == nil || *e.Hash != ref.leafHash(int64(i)) {
			t.Errorf("entry %d = {%d, %x, %v}, want {%d, %x, %v}", i, e.Index, e.Leaf, e.Hash, i, ref.leaves[i], ref.leafHash(int64(i)))
		}
	}
}

func TestAppendRejects(t *testing.T) {
	t.Parallel()
	l, _ := newLog(t, translog.Options{MaxPayload: 16})
	tests := []struct {
		name    string
		kind    string
		payload []byte
		want    error
	}{
		{"unknown kind", "signatures", nil, translog.ErrInvalidKind},
		{"empty kind", "", nil, translog.ErrInvalidKind},
		{"payload over the limit", translog.KindAdmin, make([]byte, 17), translog.ErrPayloadTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := l.Append(t.Context(), tt.kind, tt.payload); !errors.Is(err, tt.want) {
				t.Errorf("Append = %v, want %v", err, tt.want)
			}
		})
	}
	if a, err := l.Append(t.Context(), translog.KindAdmin, make([]byte, 16)); err != nil || a.Index != 0 {
		t.Errorf("Append at the limit = %+v, %v; want index 0 (nothing else appended)", a, err)
	}
}

// TestAppendReplicas runs three Logs, each with its own pool as separate
// replicas would, with concurrent appenders on one database: every index
// 0..N-1 is handed out exactly once, to the caller whose payload is there,
// and the stored tree is the tree of the stored leaves.
func TestAppendReplicas(t *testing.T) {
	t.Parallel()
	const (
		replicas  = 3
		appenders = 8
		each      = 150
		total     = replicas * appenders * each
	)
	url := newDB(t)
	clk := newClock()
	logs := make([]*translog.Log, replicas)
	for r := range logs {
		// A small MaxBatch forces many batches, and interleaving between replicas.
		logs[r] = openLog(t, newPool(t, url), translog.Options{Now: clk.Now, MaxBatch: 64})
	}

	var (
		mu    sync.Mutex
		owner = map[int64]string{}
		wg    sync.WaitGroup
		errs  = make(chan error, total)
	)
	for r, l := range logs {
		for a := range appenders {
			wg.Go(func() {
				for i := range each {
					p := fmt.Sprintf("replica %d appender %d event %d", r, a, i)
					got, err := l.Append(t.Context(), translog.KindSignature, []byte(p))
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					if prev, dup := owner[got.Index]; dup {
						errs <- fmt.Errorf("index %d given to %q and %q", got.Index, prev, p)
					}
					owner[got.Index] = p
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(owner) != total {
		t.Fatalf("%d indexes handed out, want %d", len(owner), total)
	}
	for i := range int64(total) {
		if _, ok := owner[i]; !ok {
			t.Fatalf("index %d never handed out", i)
		}
	}

	var ref memTree
	var prevAt time.Time
	for _, e := range collect(t, logs[0], total+10) {
		leaf, err := translog.DecodeLeaf(e.Leaf)
		if err != nil {
			t.Fatalf("leaf %d: %v", e.Index, err)
		}
		if string(leaf.Payload) != owner[e.Index] {
			t.Errorf("leaf %d holds %q, its appender was %q", e.Index, leaf.Payload, owner[e.Index])
		}
		if leaf.At.Before(prevAt) {
			t.Errorf("leaf %d at %v, before its predecessor at %v", e.Index, leaf.At, prevAt)
		}
		prevAt = leaf.At
		ref.add(t, e.Leaf)
	}
	want := ref.tree(t, total)
	for r, l := range logs {
		tree, err := l.Size(t.Context())
		if err != nil || tree != want {
			t.Errorf("replica %d: Size = %v, %v; want %v", r, tree, err, want)
		}
	}
}

// TestAppendWith writes rows of a table of the caller's in the append
// transaction: a failing callback loses its rows and its leaf, not the
// batch's others.
func TestAppendWith(t *testing.T) {
	t.Parallel()
	l, conn := newLog(t, translog.Options{})
	ctx := t.Context()
	if _, err := conn.Exec(ctx, `CREATE TABLE events (id text PRIMARY KEY, log_index bigint NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	errRefused := errors.New("refused")
	insert := func(id string, fail error) translog.TxFunc {
		return func(ctx context.Context, tx pgx.Tx, pos translog.Position) ([]byte, error) {
			if _, err := tx.Exec(ctx, `INSERT INTO events (id, log_index) VALUES ($1, $2)`, id, pos.Index); err != nil {
				return nil, err
			}
			if fail != nil {
				return nil, fail
			}
			return fmt.Appendf(nil, "%s@%d", id, pos.Index), nil
		}
	}
	tests := []struct {
		name    string
		id      string
		fail    error
		wantErr bool
	}{
		{"first", "a", nil, false},
		{"callback error", "b", errRefused, true},
		{"second", "c", nil, false},
		{"SQL error (duplicate key)", "a", nil, true},
		{"third", "d", nil, false},
	}
	// The first alone, then the others at once, so they share batches.
	results := make([]error, len(tests))
	appended := make([]translog.Appended, len(tests))
	appended[0], results[0] = l.AppendWith(ctx, translog.KindSignature, insert(tests[0].id, tests[0].fail))
	var wg sync.WaitGroup
	for i, tt := range tests[1:] {
		wg.Go(func() {
			appended[i+1], results[i+1] = l.AppendWith(ctx, translog.KindSignature, insert(tt.id, tt.fail))
		})
	}
	wg.Wait()

	var indexes []int64
	for i, tt := range tests {
		switch {
		case tt.wantErr && results[i] == nil:
			t.Errorf("%s: no error", tt.name)
		case !tt.wantErr && results[i] != nil:
			t.Errorf("%s: %v", tt.name, results[i])
		case !tt.wantErr:
			indexes = append(indexes, appended[i].Index)
		}
	}
	if !errors.Is(results[1], errRefused) {
		t.Errorf("callback error = %v, want it wrapped", results[1])
	}
	slices.Sort(indexes)
	if !slices.Equal(indexes, []int64{0, 1, 2}) {
		t.Errorf("indexes %v, want [0 1 2]", indexes)
	}

	events := readEvents(t, conn)
	if len(events) != 3 {
		t.Fatalf("events %v, want the three that succeeded", events)
	}
	for _, e := range collect(t, l, 10) {
		leaf, _ := translog.DecodeLeaf(e.Leaf)
		want := fmt.Sprintf("%s@%d", events[e.Index].ID, events[e.Index].Index)
		if string(leaf.Payload) != want {
			t.Errorf("leaf %d payload %q, want %q", e.Index, leaf.Payload, want)
		}
	}
}

func TestAppendClosedOrCancelled(t *testing.T) {
	t.Parallel()
	l, _ := newLog(t, translog.Options{})
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.Append(cancelled, translog.KindAdmin, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a cancelled context = %v, want context.Canceled", err)
	}
	l.Close()
	l.Close()
	if _, err := l.Append(t.Context(), translog.KindAdmin, nil); !errors.Is(err, translog.ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}
	if tree, err := l.Size(t.Context()); err != nil || tree.N != 0 {
		t.Errorf("Size = %v, %v; want an empty log", tree, err)
	}
}

// eventGroup inserts a batch's events in one statement (translog.Group).
type eventGroup struct {
	mu       sync.Mutex
	prepares int
}

func (g *eventGroup) Prepare(ctx context.Context, tx pgx.Tx, items []*translog.GroupItem) error {
	g.mu.Lock()
	g.prepares++
	g.mu.Unlock()
	ids, indexes := make([]string, len(items)), make([]int64, len(items))
	for i, it := range items {
		ids[i], indexes[i] = it.Value.(string), it.Pos.Index
	}
	if _, err := tx.Exec(ctx, `INSERT INTO events (id, log_index) SELECT * FROM unnest($1::text[], $2::bigint[])`, ids, indexes); err != nil {
		return err
	}
	for i, it := range items {
		it.Payload = fmt.Appendf(nil, "%s@%d", ids[i], indexes[i])
	}
	return nil
}

// TestAppendGroup: a group's appends in one batch are prepared together,
// with consecutive positions; when the group's statement fails, the batch
// runs again entry by entry through the fallbacks, and only the entry
// that fails alone fails. OnCommit says which way each batch went.
func TestAppendGroup(t *testing.T) {
	t.Parallel()
	type commit struct {
		leaves       int
		entryByEntry bool
	}
	var mu sync.Mutex
	var commits []commit
	onCommit := func(n int, byEntry bool) {
		mu.Lock()
		defer mu.Unlock()
		commits = append(commits, commit{n, byEntry})
	}
	l, conn := newLog(t, translog.Options{BatchDelay: 200 * time.Millisecond, OnCommit: onCommit})
	ctx := t.Context()
	if _, err := conn.Exec(ctx, `CREATE TABLE events (id text PRIMARY KEY, log_index bigint NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	g := &eventGroup{}
	fallback := func(id string) translog.TxFunc {
		return func(ctx context.Context, tx pgx.Tx, pos translog.Position) ([]byte, error) {
			if _, err := tx.Exec(ctx, `INSERT INTO events (id, log_index) VALUES ($1, $2)`, id, pos.Index); err != nil {
				return nil, err
			}
			return fmt.Appendf(nil, "%s@%d", id, pos.Index), nil
		}
	}
	appendAll := func(ids ...string) []error {
		errs := make([]error, len(ids))
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Go(func() { _, errs[i] = l.AppendGroup(ctx, translog.KindSignature, g, id, fallback(id)) })
		}
		wg.Wait()
		return errs
	}

	// Five at once share a batch (the 200 ms delay) and one Prepare.
	for i, err := range appendAll("a", "b", "c", "d", "e") {
		if err != nil {
			t.Errorf("append %d: %v", i, err)
		}
	}
	if g.prepares != len(commits) || len(commits) == 0 || commits[0].entryByEntry {
		t.Fatalf("%d prepares for commits %v; want one per commit, none entry by entry", g.prepares, commits)
	}

	// "c" is taken: the group's statement fails, the fallbacks run, and
	// only "c" fails.
	commits, g.prepares = nil, 0
	errs := appendAll("f", "c", "g")
	if errs[0] != nil || errs[2] != nil || errs[1] == nil {
		t.Fatalf("errors %v; want only the second (duplicate key)", errs)
	}
	if len(commits) == 0 || !commits[len(commits)-1].entryByEntry {
		t.Errorf("commits %v; want the failed batch written entry by entry", commits)
	}

	// Every leaf's payload names its own row, at its own index.
	events := readEvents(t, conn)
	entries := collect(t, l, 100)
	if len(events) != 7 || len(entries) != 7 {
		t.Fatalf("%d rows and %d leaves; want 7 of each", len(events), len(entries))
	}
	for _, e := range entries {
		leaf, _ := translog.DecodeLeaf(e.Leaf)
		if want := fmt.Sprintf("%s@%d", events[e.Index].ID, e.Index); events[e.Index].Index != e.Index || string(leaf.Payload) != want {
			t.Errorf("leaf %d payload %q, row %v; want %q", e.Index, leaf.Payload, events[e.Index], want)
		}
	}
}

// event is a row of the events table the callback tests write.
type event struct {
	ID    string
	Index int64
}

// readEvents returns the events table in log_index order.
func readEvents(t *testing.T, conn *pgx.Conn) []event {
	t.Helper()
	rows, _ := conn.Query(t.Context(), `SELECT id, log_index FROM events ORDER BY log_index`)
	events, err := pgx.CollectRows(rows, pgx.RowToStructByPos[event])
	if err != nil {
		t.Fatal(err)
	}
	return events
}

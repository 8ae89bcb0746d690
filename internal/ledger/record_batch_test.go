package ledger_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/translog"
)

// commitCounter counts the log's batch transactions.
type commitCounter struct {
	mu                       sync.Mutex
	commits, leaves, byEntry int
}

func (c *commitCounter) onCommit(n int, entryByEntry bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commits++
	c.leaves += n
	if entryByEntry {
		c.byEntry++
	}
}

func (c *commitCounter) get() (commits, leaves, byEntry int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commits, c.leaves, c.byEntry
}

func countingStore(t *testing.T) (*ledger.Store, string, *commitCounter) {
	t.Helper()
	s, url := newStore(t)
	c := &commitCounter{}
	if _, err := s.OpenLog(t.Context(), translog.Options{Origin: ledger.DefaultOrigin, OnCommit: c.onCommit}); err != nil {
		t.Fatal(err)
	}
	return s, url, c
}

// checkLogged fails unless e is stored as returned and the leaf at its
// log index records it as stored.
func checkLogged(t *testing.T, s *ledger.Store, e ledger.Entry) {
	t.Helper()
	stored, err := s.Get(t.Context(), e.ID)
	if err != nil {
		t.Fatalf("entry %d: %v", e.ID, err)
	}
	if d := equalEntries(stored, e); d != "" {
		t.Errorf("entry %d as returned and as stored: %s", e.ID, d)
	}
	leaf := leafAt(t, s.Log(), e.LogIndex)
	if leaf.Kind != translog.KindSignature || !bytes.Equal(leaf.Payload, ledger.EncodeSignature(stored)) {
		t.Errorf("leaf %d does not record entry %d as stored", e.LogIndex, e.ID)
	}
}

// TestRecordBatchOneTransaction: a batch's rows and leaves commit in one
// log transaction, written by the grouped statements (not entry by
// entry), at consecutive indexes, and every returned entry is the stored
// row and the leaf at its index.
func TestRecordBatchOneTransaction(t *testing.T) {
	t.Parallel()
	s, url, c := countingStore(t)
	before := logSize(t, s)
	var in []ledger.Entry
	for i := range 100 {
		in = append(in, entry("com.example.batch", fmt.Sprintf("1.%d", i), fmt.Sprintf("b-%d", i)))
	}
	res := s.RecordBatch(t.Context(), in)
	commits, leaves, byEntry := c.get()
	if commits != 1 || leaves != 100 || byEntry != 0 {
		t.Errorf("%d commits of %d leaves (%d entry by entry), want 1 commit of 100 leaves written as a group", commits, leaves, byEntry)
	}
	for i, r := range res {
		if r.Err != nil || r.Replayed {
			t.Fatalf("item %d: replayed %v, %v", i, r.Replayed, r.Err)
		}
		if r.Entry.LogIndex != before+int64(i) {
			t.Errorf("item %d at log index %d, want %d (consecutive, in order)", i, r.Entry.LogIndex, before+int64(i))
		}
		checkLogged(t, s, r.Entry)
	}
	if n := countRows(t, url); n != 100 {
		t.Errorf("%d rows, want 100", n)
	}
}

// TestRecordBatchFailuresAlone mixes in one batch what Record refuses or
// replays: each item gets Record's answer, and only the new valid items
// add rows and leaves.
func TestRecordBatchFailuresAlone(t *testing.T) {
	t.Parallel()
	s, url, _ := countingStore(t)
	addKeyVersion(t, url, "marketplace-signing", 1, "revoked")
	addKeyVersion(t, url, "marketplace-signing", 2, "active")
	earlier, _, err := s.Record(t.Context(), entry("com.example.app", "0.9", "earlier"))
	if err != nil {
		t.Fatal(err)
	}
	before, rowsBefore := logSize(t, s), countRows(t, url)

	revoked := entry("com.example.app", "1.1", "revoked")
	revoked.KeyVersion = 1
	invalid := entry("", "1.2", "invalid")
	items := []struct {
		name    string
		e       ledger.Entry
		want    error // nil: recorded or replayed
		replay  bool
		replays string // the item's key whose entry it replays
	}{
		{"new", entry("com.example.app", "1.0", "new-1"), nil, false, ""},
		{"invalid entry", invalid, ledger.ErrInvalidEntry, false, ""},
		{"revoked key version", revoked, ledger.ErrKeyVersionRevoked, false, ""},
		{"earlier key, same request", entry("com.example.app", "0.9", "earlier"), nil, true, "earlier"},
		{"earlier key, other request", entry("com.example.app", "0.8", "earlier"), ledger.ErrIdempotencyConflict, false, ""},
		{"new key again, same request", entry("com.example.app", "1.0", "new-1"), nil, true, "new-1"},
		{"new key again, other request", entry("com.example.app", "2.0", "new-1"), ledger.ErrIdempotencyConflict, false, ""},
		{"another new", entry("com.example.app", "1.3", "new-2"), nil, false, ""},
	}
	var in []ledger.Entry
	for _, it := range items {
		in = append(in, it.e)
	}
	res := s.RecordBatch(t.Context(), in)
	byKey := map[string]ledger.Entry{"earlier": earlier}
	for i, it := range items {
		r := res[i]
		switch {
		case it.want != nil:
			if !errors.Is(r.Err, it.want) {
				t.Errorf("%s: %v, want %v", it.name, r.Err, it.want)
			}
		case r.Err != nil:
			t.Errorf("%s: %v", it.name, r.Err)
		case r.Replayed != it.replay:
			t.Errorf("%s: replayed = %v, want %v", it.name, r.Replayed, it.replay)
		case !it.replay:
			checkLogged(t, s, r.Entry)
			byKey[it.e.IdempotencyKey] = r.Entry
		}
	}
	for i, it := range items {
		if it.replay && res[i].Err == nil && res[i].Entry.ID != byKey[it.replays].ID {
			t.Errorf("%s: entry %d, want the entry of %s, %d", it.name, res[i].Entry.ID, it.replays, byKey[it.replays].ID)
		}
	}
	if got := countRows(t, url) - rowsBefore; got != 2 {
		t.Errorf("%d new rows, want 2", got)
	}
	if got := logSize(t, s) - before; got != 2 {
		t.Errorf("%d new leaves, want 2", got)
	}
}

// TestRecordBatchReplayed: the same batch again returns the same entries,
// replayed, and records nothing; a key another caller's request took
// after the caller looked (a race) is found in the INSERT and answered as
// a replay too.
func TestRecordBatchReplayed(t *testing.T) {
	t.Parallel()
	s, url, _ := countingStore(t)
	var in []ledger.Entry
	for i := range 10 {
		in = append(in, entry("com.example.app", fmt.Sprintf("3.%d", i), fmt.Sprintf("r-%d", i)))
	}
	first := s.RecordBatch(t.Context(), in[:7]) // r-7..r-9 are new in the second batch
	rows, size := countRows(t, url), logSize(t, s)
	again := s.RecordBatch(t.Context(), in)
	for i, r := range again {
		if r.Err != nil {
			t.Fatalf("item %d: %v", i, r.Err)
		}
		if i < 7 {
			if !r.Replayed || r.Entry.ID != first[i].Entry.ID || r.Entry.LogIndex != first[i].Entry.LogIndex || !bytes.Equal(r.Entry.Signature, first[i].Entry.Signature) {
				t.Errorf("item %d: replayed %v, entry %d at %d; want the first batch's entry %d at %d", i, r.Replayed, r.Entry.ID, r.Entry.LogIndex, first[i].Entry.ID, first[i].Entry.LogIndex)
			}
			continue
		}
		if r.Replayed {
			t.Errorf("item %d (new) replayed", i)
		}
		checkLogged(t, s, r.Entry)
	}
	if got := countRows(t, url) - rows; got != 3 {
		t.Errorf("%d new rows, want 3", got)
	}
	if got := logSize(t, s) - size; got != 3 {
		t.Errorf("%d new leaves, want 3", got)
	}
	found, err := s.FindByIdempotencyKeys(t.Context(), in[0].Caller, []string{"r-0", "r-9", "never-used"})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || found["r-0"].ID != first[0].Entry.ID || found["r-9"].ID != again[9].Entry.ID {
		t.Errorf("FindByIdempotencyKeys = %v", found)
	}
}

// TestRecordBatchCommitFails: when the batch's transaction fails at
// commit (here a deferred constraint refuses one row, as a lost
// connection or a full disk would fail it), no item gets an entry: no
// signature of the batch is ever answered without being in the ledger
// and the log. The log then goes on from where it was.
func TestRecordBatchCommitFails(t *testing.T) {
	t.Parallel()
	s, url, _ := countingStore(t)
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	if _, err := conn.Exec(t.Context(), `
		CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.app_key = 'com.example.poison' THEN RAISE EXCEPTION 'poisoned row'; END IF;
			RETURN NULL;
		END $$;
		CREATE CONSTRAINT TRIGGER poison AFTER INSERT ON signatures
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION poison();`); err != nil {
		t.Fatal(err)
	}
	size := logSize(t, s)
	var in []ledger.Entry
	for i := range 20 {
		in = append(in, entry("com.example.app", fmt.Sprintf("4.%d", i), fmt.Sprintf("c-%d", i)))
	}
	in[13] = entry("com.example.poison", "1.0", "poison")
	for i, r := range s.RecordBatch(t.Context(), in) {
		if r.Err == nil || r.Entry.ID != 0 || r.Entry.Signature != nil {
			t.Errorf("item %d of a batch whose commit failed: entry %d, err %v; want an error and no entry", i, r.Entry.ID, r.Err)
		}
	}
	if n := countRows(t, url); n != 0 {
		t.Errorf("%d rows after the failed commit, want 0", n)
	}
	if got := logSize(t, s); got != size {
		t.Errorf("log has %d leaves after the failed commit, want %d", got, size)
	}
	res := s.RecordBatch(t.Context(), in[:3])
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("item %d after the failure: %v", i, r.Err)
		}
		checkLogged(t, s, r.Entry)
	}
	if res[0].Entry.LogIndex != size {
		t.Errorf("first entry after the failure at index %d, want %d", res[0].Entry.LogIndex, size)
	}
}

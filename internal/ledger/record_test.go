package ledger_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/translog"
)

func countRows(t *testing.T, url string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM signatures").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRecordGetRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	in := entry("com.example.app", "1.0.0", "req-1")
	in.ID = 999 // ignored
	in.Track = ledger.TrackPrivateBuild

	stored, replayed, err := s.Record(ctx, in)
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	if replayed {
		t.Error("first Record: replayed = true")
	}
	if stored.ID <= 0 || stored.ID == 999 {
		t.Errorf("stored ID = %d, want one assigned by the database", stored.ID)
	}
	want := in
	want.ID = stored.ID
	want.SignedAt = in.SignedAt.UTC().Truncate(time.Microsecond)
	if diff := equalEntries(stored, want); diff != "" {
		t.Errorf("Record returned %s", diff)
	}

	got, err := s.Get(ctx, stored.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if diff := equalEntries(got, stored); diff != "" {
		t.Errorf("Get differs from Record: %s", diff)
	}
	found, err := s.FindByIdempotencyKey(ctx, in.Caller, in.IdempotencyKey)
	if err != nil {
		t.Fatalf("FindByIdempotencyKey: %v", err)
	}
	if diff := equalEntries(found, stored); diff != "" {
		t.Errorf("FindByIdempotencyKey differs from Record: %s", diff)
	}
}

func TestRecordSameKeyAgain(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	ctx := t.Context()
	first, _, err := s.Record(ctx, entry("com.example.app", "1.0.0", "req-1"))
	if err != nil {
		t.Fatalf("Record: %v", err)
	}

	tests := []struct {
		name    string
		change  func(*ledger.Entry)
		wantErr error // nil: a replay of first
	}{
		{"identical retry", func(*ledger.Entry) {}, nil},
		{"retry signed later with another key", func(e *ledger.Entry) {
			e.SignedAt = e.SignedAt.Add(time.Hour)
			e.KeyVersion = 4
			e.Signature[0] ^= 1
		}, nil},
		{"other app", func(e *ledger.Entry) { e.AppKey = "com.example.other" }, ledger.ErrIdempotencyConflict},
		{"other version", func(e *ledger.Entry) { e.Version = "1.0.1" }, ledger.ErrIdempotencyConflict},
		{"other track", func(e *ledger.Entry) { e.Track = ledger.TrackPrivateBuild }, ledger.ErrIdempotencyConflict},
		{"other archive", func(e *ledger.Entry) { e.SHA256[0] ^= 1 }, ledger.ErrIdempotencyConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := entry("com.example.app", "1.0.0", "req-1")
			tt.change(&e)
			got, replayed, err := s.Record(ctx, e)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Record: %v", err)
			}
			if !replayed {
				t.Error("replayed = false, want true")
			}
			if diff := equalEntries(got, first); diff != "" {
				t.Errorf("replay did not return the first entry: %s", diff)
			}
		})
	}
	if n := countRows(t, url); n != 1 {
		t.Errorf("%d rows, want 1", n)
	}

	// The key is per caller: another caller may use it.
	other := entry("com.example.app", "1.0.0", "req-1")
	other.Caller = "another-pipeline"
	if _, replayed, err := s.Record(ctx, other); err != nil || replayed {
		t.Errorf("same key, other caller: replayed %v, err %v; want a new entry", replayed, err)
	}
}

func TestRecordConcurrentSameKey(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	const n = 20
	type result struct {
		e        ledger.Entry
		replayed bool
		err      error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			e, replayed, err := s.Record(t.Context(), entry("com.example.app", "2.0.0", "burst"))
			results[i] = result{e, replayed, err}
		})
	}
	close(start)
	wg.Wait()

	fresh := 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("Record #%d: %v", i, r.err)
		}
		if !r.replayed {
			fresh++
		}
		if r.e.ID != results[0].e.ID {
			t.Errorf("Record #%d returned id %d, #0 returned %d", i, r.e.ID, results[0].e.ID)
		}
	}
	if fresh != 1 {
		t.Errorf("%d Records inserted, want exactly 1 (the rest replayed)", fresh)
	}
	if rows := countRows(t, url); rows != 1 {
		t.Errorf("%d rows, want 1", rows)
	}
}

func TestRecordRejectsInvalidEntries(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	tests := []struct {
		name   string
		change func(*ledger.Entry)
	}{
		{"unknown track", func(e *ledger.Entry) { e.Track = "CUSTOM" }},
		{"short sha256", func(e *ledger.Entry) { e.SHA256 = e.SHA256[:31] }},
		{"short sha512", func(e *ledger.Entry) { e.SHA512 = e.SHA512[:63] }},
		{"long signature", func(e *ledger.Entry) { e.Signature = append(e.Signature, 0) }},
		{"negative size", func(e *ledger.Entry) { e.ArchiveSize = -1 }},
		{"no app key", func(e *ledger.Entry) { e.AppKey = "" }},
		{"no caller", func(e *ledger.Entry) { e.Caller = "" }},
		{"no idempotency key", func(e *ledger.Entry) { e.IdempotencyKey = "" }},
		{"no signing time", func(e *ledger.Entry) { e.SignedAt = time.Time{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := entry("com.example.app", "1.0.0", tt.name)
			tt.change(&e)
			if _, _, err := s.Record(t.Context(), e); !errors.Is(err, ledger.ErrInvalidEntry) {
				t.Errorf("err = %v, want ErrInvalidEntry", err)
			}
		})
	}
	if n := countRows(t, url); n != 0 {
		t.Errorf("%d rows, want 0", n)
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	if _, err := s.Get(t.Context(), 42); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Get missing: err = %v, want ErrNotFound", err)
	}
	if _, err := s.FindByIdempotencyKey(t.Context(), "review-pipeline", "never-used"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("FindByIdempotencyKey missing: err = %v, want ErrNotFound", err)
	}
}

func TestRecordDigestProfile(t *testing.T) {
	store, _ := newStore(t)
	e := entry("com.example.app", "1.0.0", "digest-1")
	e.Profile, e.Statement = ledger.ProfileDigestV1, []byte("appsign.dev/digest-statement/v1\n...")
	got, _, err := store.Record(t.Context(), e)
	if err != nil {
		t.Fatal(err)
	}
	back, err := store.Get(t.Context(), got.ID)
	if err != nil || back.Profile != ledger.ProfileDigestV1 || string(back.Statement) != string(e.Statement) {
		t.Fatalf("Get = %+v, %v", back, err)
	}
	// A UPM retry under the same key is a different request.
	upm := e
	upm.Profile, upm.Statement = ledger.ProfileUPM, nil
	if _, _, err := store.Record(t.Context(), upm); !errors.Is(err, ledger.ErrIdempotencyConflict) {
		t.Fatalf("UPM retry of a digest entry = %v, want ErrIdempotencyConflict", err)
	}
	bad := e
	bad.IdempotencyKey, bad.Statement = "other", nil
	if _, _, err := store.Record(t.Context(), bad); !errors.Is(err, ledger.ErrInvalidEntry) {
		t.Fatalf("digest entry without statement = %v, want ErrInvalidEntry", err)
	}
}

// TestRecordBatchesInOneStatement: concurrent Records with distinct keys
// are written by the group's one INSERT per commit (never entry by entry),
// ids grow with log indexes, and each row encodes to its leaf; a batch
// holding a replayed key is written entry by entry and still answers each
// Record rightly.
func TestRecordBatchesInOneStatement(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	var mu sync.Mutex
	var leaves, byEntry, commits int
	_, err := s.OpenLog(t.Context(), translog.Options{Origin: ledger.DefaultOrigin, BatchDelay: 100 * time.Millisecond,
		OnCommit: func(n int, entryByEntry bool) {
			mu.Lock()
			defer mu.Unlock()
			commits++
			leaves += n
			if entryByEntry {
				byEntry++
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	record := func(keys ...string) []ledger.Entry {
		out := make([]ledger.Entry, len(keys))
		var wg sync.WaitGroup
		for i, k := range keys {
			wg.Go(func() {
				e, _, err := s.Record(t.Context(), entry("com.example.app", "3.0."+k, k))
				if err != nil {
					t.Errorf("Record %s: %v", k, err)
				}
				out[i] = e
			})
		}
		wg.Wait()
		return out
	}

	got := record("k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8")
	mu.Lock()
	if byEntry != 0 || leaves != 8 {
		t.Errorf("%d commits of %d leaves, %d entry by entry; want 8 leaves, none entry by entry", commits, leaves, byEntry)
	}
	mu.Unlock()
	slices.SortFunc(got, func(a, b ledger.Entry) int { return cmp.Compare(a.LogIndex, b.LogIndex) })
	for i := 1; i < len(got); i++ {
		if got[i].ID <= got[i-1].ID {
			t.Errorf("entry %d at leaf %d after entry %d at leaf %d: ids must grow with the index", got[i].ID, got[i].LogIndex, got[i-1].ID, got[i-1].LogIndex)
		}
	}
	for _, e := range got {
		stored, err := s.Get(t.Context(), e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := equalEntries(stored, e); d != "" {
			t.Errorf("entry %d as returned and as stored: %s", e.ID, d)
		}
		var leaf []byte
		for le, err := range s.Log().Entries(t.Context(), e.LogIndex, e.LogIndex+1) {
			if err != nil {
				t.Fatal(err)
			}
			leaf = le.Leaf
		}
		decoded, err := translog.DecodeLeaf(leaf)
		if err != nil || !bytes.Equal(decoded.Payload, ledger.EncodeSignature(stored)) {
			t.Errorf("leaf %d does not record entry %d as stored (%v)", e.LogIndex, e.ID, err)
		}
	}

	// A replayed key in the batch: written entry by entry, the replay
	// answers with the first entry.
	again := record("k9", "k3", "k10")
	mu.Lock()
	if byEntry == 0 {
		t.Error("a batch with a replayed key was not written entry by entry")
	}
	mu.Unlock()
	if first := findByKey(got, "k3"); again[1].ID != first.ID {
		t.Errorf("replay of k3 returned entry %d", again[1].ID)
	}
	if rows := countRows(t, url); rows != 10 {
		t.Errorf("%d rows, want 10", rows)
	}
}

func findByKey(es []ledger.Entry, key string) ledger.Entry {
	for _, e := range es {
		if e.IdempotencyKey == key {
			return e
		}
	}
	return ledger.Entry{}
}

package ledger_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/translog"
)

const testOrigin = "appsign.test/ledger"

// testKey is an in-memory ledger key.
type testKey struct{ priv ed25519.PrivateKey }

func newTestKey() *testKey {
	seed := sha256.Sum256([]byte("ledger test key"))
	return &testKey{priv: ed25519.NewKeyFromSeed(seed[:])}
}

func (k *testKey) URI() kms.URI              { return kms.URI{Scheme: "memory"} }
func (k *testKey) Public() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }
func (k *testKey) Limits() kms.Limits        { return kms.Limits{MaxMessage: 4096} }
func (k *testKey) Close() error              { return nil }
func (k *testKey) SignMessage(_ context.Context, msg []byte) ([]byte, error) {
	return ed25519.Sign(k.priv, msg), nil
}

// signedStore returns a store whose log signs checkpoints with a test key.
func signedStore(t *testing.T) (*ledger.Store, *translog.Log, note.Verifiers) {
	t.Helper()
	s, _ := newStore(t)
	key := newTestKey()
	l, err := s.OpenLog(t.Context(), translog.Options{Origin: testOrigin, Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	v, err := translog.NoteVerifier(testOrigin, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return s, l, note.VerifierList(v)
}

// leafAt returns the decoded leaf at index.
func leafAt(t *testing.T, l *translog.Log, index int64) translog.Leaf {
	t.Helper()
	for e, err := range l.Entries(t.Context(), index, index+1) {
		if err != nil || e.Leaf == nil {
			t.Fatalf("leaf %d: %v", index, err)
		}
		leaf, err := translog.DecodeLeaf(e.Leaf)
		if err != nil {
			t.Fatal(err)
		}
		return leaf
	}
	t.Fatalf("no leaf %d", index)
	return translog.Leaf{}
}

func TestRecordAppendsItsLeaf(t *testing.T) {
	t.Parallel()
	s, l, verifiers := signedStore(t)
	ctx := t.Context()

	stored, _, err := s.Record(ctx, entry("com.example.app", "1.0.0", "req-1"))
	if err != nil {
		t.Fatal(err)
	}
	leaf := leafAt(t, l, stored.LogIndex)
	if leaf.Kind != translog.KindSignature {
		t.Errorf("leaf kind %q, want %q", leaf.Kind, translog.KindSignature)
	}
	logged, err := ledger.DecodeSignature(leaf.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if d := ledger.Differences(logged, stored); d != nil {
		t.Errorf("the leaf differs from the stored entry in %v", d)
	}

	// A replay returns the original entry and appends nothing.
	size, _ := l.Size(ctx)
	again, replayed, err := s.Record(ctx, entry("com.example.app", "1.0.0", "req-1"))
	if err != nil || !replayed || again.LogIndex != stored.LogIndex || again.ID != stored.ID {
		t.Errorf("replay = %d@%d, %v, %v; want entry %d@%d replayed", again.ID, again.LogIndex, replayed, err, stored.ID, stored.LogIndex)
	}
	if after, _ := l.Size(ctx); after.N != size.N {
		t.Errorf("a replay grew the log from %d to %d leaves", size.N, after.N)
	}

	// Concurrent records share batches; every one has its own leaf, and the
	// whole log verifies against a checkpoint.
	const n = 40
	var wg sync.WaitGroup
	indexes := make(chan int64, n)
	for i := range n {
		wg.Go(func() {
			e, _, err := s.Record(ctx, entry("com.example.app", "2.0.0", fmt.Sprintf("c-%d", i)))
			if err != nil {
				t.Error(err)
				return
			}
			indexes <- e.LogIndex
		})
	}
	wg.Wait()
	close(indexes)
	seen := map[int64]bool{}
	for i := range indexes {
		if seen[i] {
			t.Errorf("log index %d given twice", i)
		}
		seen[i] = true
	}
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Tree.N != n+1 {
		t.Errorf("tree of %d leaves, want %d", cp.Tree.N, n+1)
	}
	rep := translog.Verify(l.Entries(ctx, 0, cp.Tree.N+10), translog.VerifyOptions{Origin: testOrigin, Verifiers: verifiers, Checkpoint: cp.Note})
	if !rep.OK() {
		t.Errorf("Verify: %v %v", rep.Problems, rep.Err)
	}
}

func TestAppendEvents(t *testing.T) {
	t.Parallel()
	s, l, _ := signedStore(t)
	ctx := t.Context()
	at := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	ev := ledger.Event{Kind: translog.KindAdmin, Action: "published", Subject: "revocation list 3", Actor: "alice", At: at,
		Detail: map[string]any{"version": 3}}

	index, err := s.AppendEvent(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	leaf := leafAt(t, l, index)
	want, _ := ledger.EncodeEvent(ev)
	if leaf.Kind != translog.KindAdmin || string(leaf.Payload) != string(want) {
		t.Errorf("leaf %s %s, want admin %s", leaf.Kind, leaf.Payload, want)
	}
	if got := `{"v":1,"action":"published","subject":"revocation list 3","actor":"alice","at":"2026-04-01T10:00:00.000000Z","detail":{"version":3}}`; string(want) != got {
		t.Errorf("EncodeEvent = %s, want %s", want, got)
	}

	// Inside another store's transaction: the leaf commits or rolls back with it.
	for _, commit := range []bool{false, true} {
		before, _ := l.Size(ctx)
		tx, err := s.Pool().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		kev := ledger.KeyEvent(keystore.Event{ID: 7, Name: "signing", Version: 2, Kind: keystore.EventRotated, Actor: "bob", At: at,
			Detail: keystore.EventDetail{Role: keystore.RoleArchiveSigning, Replaces: 1}})
		index, err := s.AppendEventTx(ctx, tx, kev)
		if err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		after, _ := l.Size(ctx)
		switch {
		case commit && (after.N != before.N+1 || index != before.N):
			t.Errorf("committed: log %d -> %d leaves, index %d", before.N, after.N, index)
		case !commit && after.N != before.N:
			t.Errorf("rolled back: log grew %d -> %d", before.N, after.N)
		}
		if commit {
			leaf := leafAt(t, l, index)
			if leaf.Kind != translog.KindKey || string(leaf.Payload) != `{"v":1,"action":"rotated","subject":"key signing v2","actor":"bob","at":"2026-04-01T10:00:00.000000Z","detail":{"event_id":7,"role":"archive-signing","replaces":1}}` {
				t.Errorf("key leaf: %s %s", leaf.Kind, leaf.Payload)
			}
		}
	}
	// Sequenced appends still work after the transactional ones.
	if _, _, err := s.Record(ctx, entry("com.example.app", "1.0.0", "after")); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	// AppendEvent returns the index of its own leaf, not of the first.
	size, err := l.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if index, err := s.AppendEvent(ctx, ev); err != nil || index != size.N || index == 0 {
		t.Errorf("AppendEvent on a log of %d leaves = %d, %v; want index %d", size.N, index, err, size.N)
	}

	bad := []ledger.Event{
		{Kind: translog.KindSignature, Action: "x", Subject: "y", Actor: "z", At: at},
		{Kind: "forged", Action: "x", Subject: "y", Actor: "z", At: at},
		{Kind: translog.KindAdmin, Subject: "y", Actor: "z", At: at},
		{Kind: translog.KindAdmin, Action: "x", Actor: "z", At: at},
		{Kind: translog.KindAdmin, Action: "x", Subject: "y", At: at},
		{Kind: translog.KindAdmin, Action: "x", Subject: "y", Actor: "z", At: at, Detail: map[string]any{"not json": func() {}}},
		{Kind: translog.KindAdmin, Action: "x", Subject: "y", Actor: "z"},
	}
	for i, ev := range bad {
		if _, err := s.AppendEvent(ctx, ev); !errors.Is(err, ledger.ErrInvalidEntry) {
			t.Errorf("bad event %d: err = %v, want ErrInvalidEntry", i, err)
		}
	}
}

func TestSignaturePayload(t *testing.T) {
	t.Parallel()
	e := entry("com.example.app", "1.0.0", "k")
	e.ID = 42
	b := ledger.EncodeSignature(e)
	got, err := ledger.DecodeSignature(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := ledger.Differences(got, e); d != nil {
		t.Errorf("round trip differs in %v", d)
	}
	changed := e
	changed.SHA256 = append([]byte{}, e.SHA256...)
	changed.SHA256[0] ^= 1
	changed.Caller = "mallory"
	if d := ledger.Differences(changed, e); fmt.Sprint(d) != "[sha256 caller]" {
		t.Errorf("Differences = %v, want [sha256 caller]", d)
	}
	for name, payload := range map[string]string{
		"not json":       "x",
		"spaces":         " " + string(b),
		"unknown field":  `{"v":1,"x":1}`,
		"other version":  `{"v":2}`,
		"bad hex":        `{"v":1,"sha256":"zz","signed_at":"2026-03-14T14:09:26.535897Z"}`,
		"not canonical":  string(b[:len(b)-1]) + `,"statement":""}`,
		"trailing bytes": string(b) + "{}",
	} {
		if _, err := ledger.DecodeSignature([]byte(payload)); !errors.Is(err, ledger.ErrMalformedPayload) {
			t.Errorf("%s: err = %v, want ErrMalformedPayload", name, err)
		}
	}
}

// TestTwoEventsInOneTransaction is a key rotation's shape: two key events
// (rotated, retired) logged in one keystore transaction.
func TestTwoEventsInOneTransaction(t *testing.T) {
	t.Parallel()
	s, l, verifiers := signedStore(t)
	ctx := t.Context()
	at := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []keystore.EventKind{keystore.EventRotated, keystore.EventRetired} {
		if _, err := s.AppendEventTx(ctx, tx, ledger.KeyEvent(keystore.Event{Name: "k", Version: 2, Kind: kind, Actor: "a", At: at})); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	cp, err := l.Checkpoint(ctx)
	if err != nil || cp.Tree.N != 2 {
		t.Fatalf("checkpoint: %v, %v; want a tree of 2", cp.Tree, err)
	}
	if rep := translog.Verify(l.Entries(ctx, 0, 10), translog.VerifyOptions{Origin: testOrigin, Verifiers: verifiers, Checkpoint: cp.Note}); !rep.OK() {
		t.Errorf("Verify: %v", rep.Problems)
	}
}

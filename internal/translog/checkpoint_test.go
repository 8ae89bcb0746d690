package translog_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/appsign/signer/internal/translog"
)

func TestCheckpoint(t *testing.T) {
	t.Parallel()
	key := newMemSigner("ledger")
	l, _ := newLog(t, translog.Options{Signer: key})
	ctx := t.Context()
	if _, err := l.Latest(ctx); !errors.Is(err, translog.ErrNoCheckpoint) {
		t.Errorf("Latest before any checkpoint = %v, want ErrNoCheckpoint", err)
	}
	appendN(t, l, 7)
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	tree, _ := l.Size(ctx)
	if cp.Tree != tree {
		t.Errorf("checkpoint of %v, want %v", cp.Tree, tree)
	}

	// The note is a C2SP checkpoint, signed under the origin with note's
	// Ed25519 key hash: a verifier key made by note itself opens it.
	vkey, err := note.NewEd25519VerifierKey(testOrigin, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := l.VerifierKey(); got != vkey {
		t.Errorf("VerifierKey = %q, want %q", got, vkey)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(cp.Note, note.VerifierList(v))
	if err != nil {
		t.Fatalf("note.Open: %v", err)
	}
	wantText := testOrigin + "\n7\n" + tree.Hash.String() + "\n"
	if n.Text != wantText {
		t.Errorf("note text %q, want %q", n.Text, wantText)
	}
	if len(n.Sigs) != 1 || n.Sigs[0].Name != testOrigin || n.Sigs[0].Hash != v.KeyHash() {
		t.Errorf("signatures %+v, want one by %s+%08x", n.Sigs, testOrigin, v.KeyHash())
	}

	latest, err := l.Latest(ctx)
	if err != nil || string(latest.Note) != string(cp.Note) || latest.Tree != cp.Tree {
		t.Errorf("Latest = %+v, %v; want the checkpoint just signed", latest, err)
	}
	// Nothing appended: the same checkpoint, not a new signature.
	calls := key.calls.Load()
	again, err := l.Checkpoint(ctx)
	if err != nil || string(again.Note) != string(cp.Note) || key.calls.Load() != calls {
		t.Errorf("second Checkpoint = %v, %d more signatures; want the first, none", err, key.calls.Load()-calls)
	}

	appendN(t, l, 3)
	next, err := l.Checkpoint(ctx)
	if err != nil || next.Tree.N != 10 {
		t.Fatalf("Checkpoint after 3 more = %+v, %v", next.Tree, err)
	}
	history, err := l.Checkpoints(ctx, 0, 10)
	if err != nil || len(history) != 2 || history[0].Tree.N != 7 || history[1].Tree.N != 10 {
		t.Errorf("Checkpoints = %d, %v; want sizes 7 and 10", len(history), err)
	}
	// A page of one, then the one after it; a page of none is refused.
	if page, err := l.Checkpoints(ctx, 0, 1); err != nil || len(page) != 1 || page[0].Tree.N != 7 {
		t.Errorf("Checkpoints(0, 1) = %d, %v; want size 7 alone", len(page), err)
	}
	if page, err := l.Checkpoints(ctx, 7, 1); err != nil || len(page) != 1 || page[0].Tree.N != 10 {
		t.Errorf("Checkpoints(7, 1) = %d, %v; want size 10 alone", len(page), err)
	}
	if _, err := l.Checkpoints(ctx, 0, 0); !errors.Is(err, translog.ErrOutOfRange) {
		t.Errorf("Checkpoints(0, 0) = %v; want ErrOutOfRange", err)
	}
}

// TestCheckpointReplicas: two replicas sign the same tree; one row is kept
// and both return it.
func TestCheckpointReplicas(t *testing.T) {
	t.Parallel()
	url := newDB(t)
	a := openLog(t, newPool(t, url), translog.Options{})
	b := openLog(t, newPool(t, url), translog.Options{})
	appendN(t, a, 5)
	ca, err := a.Checkpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cb, err := b.Checkpoint(t.Context())
	if err != nil || string(cb.Note) != string(ca.Note) {
		t.Errorf("second replica's Checkpoint = %v, note equal %v", err, string(cb.Note) == string(ca.Note))
	}
}

// TestCheckpointRefusesRewrites: a superuser rewrites history so the stored
// tree is self-consistent but not the one signed. Neither Checkpoint nor
// Append may build on it.
func TestCheckpointRefusesRewrites(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// rewrite tampers with a 6-leaf log whose checkpoint is signed.
		rewrite func(t *testing.T, tm *tamperer)
		// appendFails says appends fail: the head no longer hashes to its
		// root, so the sequencer will not extend it.
		appendFails bool
		// checkpointOK says the tree is still the signed one, so the
		// latest checkpoint stands (and nothing new is signed).
		checkpointOK bool
	}{
		{"root hash changed", func(t *testing.T, tm *tamperer) {
			tm.exec(t, `UPDATE log_head SET root_hash = sha256('forged'::bytea)`)
		}, true, false},
		{"frontier changed", func(t *testing.T, tm *tamperer) {
			tm.exec(t, `UPDATE log_head SET frontier = sha256('a'::bytea) || sha256('b'::bytea)`)
		}, true, true},
		{"leaf 2 rewritten with the whole tree", func(t *testing.T, tm *tamperer) {
			tm.rewriteTree(t, 2, []byte("forged"))
		}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := newMemSigner("ledger")
			l, conn := newLog(t, translog.Options{Signer: key})
			appendN(t, l, 6)
			if _, err := l.Checkpoint(t.Context()); err != nil {
				t.Fatal(err)
			}
			tt.rewrite(t, &tamperer{conn: conn})

			_, err := l.Append(t.Context(), translog.KindAdmin, []byte("after"))
			if tt.appendFails && !errors.Is(err, translog.ErrCorrupt) {
				t.Errorf("Append after the rewrite = %v, want ErrCorrupt", err)
			}
			if !tt.appendFails && err != nil {
				// A self-consistent rewrite cannot be told from the real
				// thing without the signed history: Checkpoint's job.
				t.Errorf("Append after the rewrite = %v", err)
			}
			calls := key.calls.Load()
			_, err = l.Checkpoint(t.Context())
			if tt.checkpointOK != (err == nil) || !tt.checkpointOK && !errors.Is(err, translog.ErrCorrupt) {
				t.Errorf("Checkpoint after the rewrite = %v, want success %v or ErrCorrupt", err, tt.checkpointOK)
			}
			if key.calls.Load() != calls {
				t.Error("the rewritten tree was signed")
			}
		})
	}
}

func TestCheckpointWithoutSigner(t *testing.T) {
	t.Parallel()
	url := newDB(t)
	l, err := translog.Open(t.Context(), newPool(t, url), translog.Options{Origin: testOrigin})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Checkpoint(t.Context()); !errors.Is(err, translog.ErrNoSigner) {
		t.Errorf("Checkpoint = %v, want ErrNoSigner", err)
	}
}

func TestOpenOptions(t *testing.T) {
	t.Parallel()
	pool := newPool(t, newDB(t))
	for _, origin := range []string{"", "has space", "a+b", "line\nbreak"} {
		if _, err := translog.Open(t.Context(), pool, translog.Options{Origin: origin}); !errors.Is(err, translog.ErrInvalidOptions) {
			t.Errorf("Open with origin %q = %v, want ErrInvalidOptions", origin, err)
		}
	}
	// An unmigrated database.
	if _, err := translog.Open(t.Context(), newPool(t, newUnmigrated(t)), translog.Options{Origin: testOrigin}); err == nil {
		t.Error("Open on a database without the log tables succeeded")
	}
}

func TestOpenCheckpoint(t *testing.T) {
	key, other := newMemSigner("ledger"), newMemSigner("other")
	tree := tlog.Tree{N: 42, Hash: tlog.RecordHash([]byte("root"))}
	good := sign(t, key, tree)
	tests := []struct {
		name      string
		msg       []byte
		origin    string
		verifiers note.Verifiers
		wantErr   bool
	}{
		{"good", good, testOrigin, key.verifiers(t), false},
		{"other origin expected", good, "elsewhere.test/log", key.verifiers(t), true},
		{"signed by an unknown key", sign(t, other, tree), testOrigin, key.verifiers(t), true},
		{"text changed", []byte(strings.Replace(string(good), "\n42\n", "\n43\n", 1)), testOrigin, key.verifiers(t), true},
		{"no verifiers", good, testOrigin, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cp, err := translog.OpenCheckpoint(tt.msg, tt.origin, tt.verifiers)
			switch {
			case tt.wantErr && !errors.Is(err, translog.ErrBadCheckpoint):
				t.Errorf("OpenCheckpoint = %v, want ErrBadCheckpoint", err)
			case !tt.wantErr && (err != nil || cp.Tree != tree):
				t.Errorf("OpenCheckpoint = %+v, %v; want %v", cp.Tree, err, tree)
			}
		})
	}
}

func TestParseCheckpoint(t *testing.T) {
	hash := tlog.RecordHash(nil).String()
	tests := []struct {
		name    string
		text    string
		wantN   int64
		wantErr bool
	}{
		{"plain", "o\n5\n" + hash + "\n", 5, false},
		{"extension line", "o\n5\n" + hash + "\nextra\n", 5, false},
		{"no final newline", "o\n5\n" + hash, 0, true},
		{"two lines", "o\n5\n", 0, true},
		{"empty origin", "\n5\n" + hash + "\n", 0, true},
		{"empty tree", "o\n0\n" + hash + "\n", 0, false},
		{"negative size", "o\n-5\n" + hash + "\n", 0, true},
		{"leading zero", "o\n05\n" + hash + "\n", 0, true},
		{"plus sign", "o\n+5\n" + hash + "\n", 0, true},
		{"short hash", "o\n5\nAAAA\n", 0, true},
		{"unpadded hash", "o\n5\n" + strings.TrimRight(hash, "=") + "\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, tree, err := translog.ParseCheckpoint([]byte(tt.text))
			if tt.wantErr != (err != nil) || tree.N != tt.wantN {
				t.Errorf("ParseCheckpoint = %v, %v; want size %d, error %v", tree, err, tt.wantN, tt.wantErr)
			}
		})
	}
}

func TestPublish(t *testing.T) {
	t.Parallel()
	l, _ := newLog(t, translog.Options{})
	ctx := t.Context()
	done := make(chan error, 1)
	go func() {
		done <- l.Publish(ctx, translog.PublishOptions{Interval: time.Hour, Delay: 20 * time.Millisecond})
	}()
	for round, n := range []int{3, 5} {
		appendN(t, l, n)
		want := int64(3 + 5*round)
		deadline := time.Now().Add(10 * time.Second)
		for {
			cp, err := l.Latest(ctx)
			if err == nil && cp.Tree.N == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no checkpoint of size %d after appends (latest %v, %v)", want, cp.Tree, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	l.Close()
	if err := <-done; err != nil {
		t.Errorf("Publish = %v after Close, want nil", err)
	}
}

// TestCheckpointRewriteAtTheSignedSize: history rewritten without growing
// the log (the same size as the signed checkpoint, another root) is
// reported as a tree that does not extend the signed one, and nothing is
// signed.
func TestCheckpointRewriteAtTheSignedSize(t *testing.T) {
	t.Parallel()
	key := newMemSigner("ledger")
	l, conn := newLog(t, translog.Options{Signer: key})
	appendN(t, l, 6)
	if _, err := l.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	(&tamperer{conn: conn}).rewriteTree(t, 2, []byte("forged"))
	calls := key.calls.Load()
	_, err := l.Checkpoint(t.Context())
	if !errors.Is(err, translog.ErrCorrupt) || !strings.Contains(err.Error(), "does not extend signed checkpoint 6") {
		t.Errorf("Checkpoint = %v; want ErrCorrupt: the stored tree does not extend signed checkpoint 6", err)
	}
	if key.calls.Load() != calls {
		t.Error("the rewritten tree was signed")
	}
}

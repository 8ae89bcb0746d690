package anchor_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/appsign/signer/internal/anchor"
	"github.com/appsign/signer/internal/translog"
)

const origin = "appsign.test/ledger"

// ledgerKey signs checkpoints of origin.
type ledgerKey struct {
	signer note.Signer
	vs     note.Verifiers
}

func newLedgerKey(t *testing.T) ledgerKey {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return ledgerKey{signer: s, vs: note.VerifierList(v)}
}

// checkpoint signs a checkpoint of n leaves whose root is derived from seed.
func (k ledgerKey) checkpoint(t *testing.T, n int64, seed string) translog.Checkpoint {
	t.Helper()
	tree := tlog.Tree{N: n, Hash: tlog.Hash(sha256.Sum256([]byte(seed)))}
	msg, err := note.Sign(&note.Note{Text: string(translog.FormatCheckpoint(origin, tree))}, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	return translog.Checkpoint{Origin: origin, Tree: tree, Note: msg}
}

func newDir(t *testing.T) (*anchor.Dir, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "published")
	d, err := anchor.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	return d, root
}

func TestDirStore(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	d, root := newDir(t)
	if _, err := d.Get(ctx, "latest"); !errors.Is(err, anchor.ErrNotFound) {
		t.Errorf("Get of a missing object = %v, want ErrNotFound", err)
	}
	if err := d.Create(ctx, "checkpoints/1", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := d.Create(ctx, "checkpoints/1", []byte("other")); !errors.Is(err, anchor.ErrExists) {
		t.Errorf("second Create = %v, want ErrExists", err)
	}
	if b, err := d.Get(ctx, "checkpoints/1"); err != nil || string(b) != "one" {
		t.Errorf("Get after a refused Create = %q, %v; want the first object", b, err)
	}
	for _, data := range []string{"a", "b"} {
		if err := d.Put(ctx, "latest", []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := d.Get(ctx, "latest"); err != nil || string(b) != "b" {
		t.Errorf("Get after Put = %q, %v; want b", b, err)
	}
	// A write in progress (atomicfile's temporary name) is not an object.
	if err := os.WriteFile(filepath.Join(root, "checkpoints", ".2.tmp-1"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Create(ctx, "checkpoints/10", []byte("ten")); err != nil {
		t.Fatal(err)
	}
	names, err := d.List(ctx, "checkpoints/")
	slices.Sort(names)
	if err != nil || !slices.Equal(names, []string{"checkpoints/1", "checkpoints/10"}) {
		t.Errorf("List = %q, %v", names, err)
	}
	fi, err := os.Stat(filepath.Join(root, "checkpoints", "10"))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("checkpoint file mode = %v, %v; want 0644 (checkpoints are public)", fi.Mode(), err)
	}
	for _, bad := range []string{"", "../outside", "/etc/passwd", "a/../../b", `a\b`} {
		if err := d.Put(ctx, bad, []byte("x")); err == nil {
			t.Errorf("Put(%q) succeeded; names must stay inside the directory", bad)
		}
	}
	if _, err := anchor.NewDir("relative/dir"); err == nil {
		t.Error("NewDir accepted a relative path")
	}
}

func TestPublished(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	key := newLedgerKey(t)
	d, root := newDir(t)
	p := anchor.New(d, origin, key.vs)
	if _, err := p.Latest(ctx); !errors.Is(err, translog.ErrNoCheckpoint) {
		t.Fatalf("Latest of an empty store = %v, want ErrNoCheckpoint", err)
	}
	cp5, cp9 := key.checkpoint(t, 5, "a"), key.checkpoint(t, 9, "b")
	for _, cp := range []translog.Checkpoint{cp5, cp9, cp5, cp9} { // again: idempotent
		if err := p.Publish(ctx, cp); err != nil {
			t.Fatalf("Publish %d: %v", cp.Tree.N, err)
		}
	}
	latest, err := p.Latest(ctx)
	if err != nil || latest.Tree != cp9.Tree {
		t.Fatalf("Latest = %v, %v; want tree 9", latest.Tree, err)
	}
	// latest never goes back, even when a replica publishes late.
	cp7 := key.checkpoint(t, 7, "c")
	if err := p.Publish(ctx, cp7); err != nil {
		t.Fatal(err)
	}
	if latest, _ := p.Latest(ctx); latest.Tree != cp9.Tree {
		t.Errorf("Latest after publishing 7 after 9 = %d, want 9", latest.Tree.N)
	}
	if sizes, err := p.Sizes(ctx); err != nil || !slices.Equal(sizes, []int64{5, 7, 9}) {
		t.Errorf("Sizes = %v, %v", sizes, err)
	}
	on, err := os.ReadFile(filepath.Join(root, "checkpoints", "9"))
	if err != nil || string(on) != string(cp9.Note) {
		t.Errorf("checkpoints/9 = %q, %v; want the note", on, err)
	}

	// Another root for a published size is a fork, and is not written.
	if err := p.Publish(ctx, key.checkpoint(t, 9, "forked")); !errors.Is(err, anchor.ErrFork) {
		t.Errorf("Publish of another tree 9 = %v, want ErrFork", err)
	}
	// A note the ledger key did not sign is never published.
	other := newLedgerKey(t)
	if err := p.Publish(ctx, other.checkpoint(t, 12, "x")); !errors.Is(err, translog.ErrBadCheckpoint) {
		t.Errorf("Publish of a note by another key = %v, want ErrBadCheckpoint", err)
	}

	// Without latest, the largest checkpoint file stands in.
	if err := os.Remove(filepath.Join(root, "latest")); err != nil {
		t.Fatal(err)
	}
	if latest, err := p.Latest(ctx); err != nil || latest.Tree != cp9.Tree {
		t.Errorf("Latest without the latest file = %v, %v; want tree 9", latest.Tree, err)
	}
}

// TestPublishedRejectsPlantedFiles: someone who can write to the
// directory but does not hold the ledger key cannot make the service or an
// auditor trust a checkpoint: every file is verified, and a bad one is an
// error, not skipped.
func TestPublishedRejectsPlantedFiles(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	key, forger := newLedgerKey(t), newLedgerKey(t)
	d, root := newDir(t)
	p := anchor.New(d, origin, key.vs)
	if err := p.Publish(ctx, key.checkpoint(t, 3, "a")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file string
		data       []byte
		want       error
	}{
		{"latest signed by another key", "latest", forger.checkpoint(t, 2, "b").Note, translog.ErrBadCheckpoint},
		{"latest not a note", "latest", []byte("appsign.test/ledger\n2\n"), translog.ErrBadCheckpoint},
		{"checkpoint under the wrong size", "checkpoints/4", key.checkpoint(t, 3, "a").Note, anchor.ErrFork},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(root, filepath.FromSlash(tt.file))
			old, _ := os.ReadFile(path)
			if err := os.WriteFile(path, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if old == nil {
					os.Remove(path)
				} else {
					os.WriteFile(path, old, 0o644)
				}
			}()
			var err error
			if tt.file == "latest" {
				_, err = p.Latest(ctx)
			} else {
				_, err = p.At(ctx, 4)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// failingStore is a Store whose every call fails, as an unmounted or full
// disk does.
type failingStore struct{}

var errDisk = errors.New("input/output error")

func (failingStore) Get(context.Context, string) ([]byte, error)  { return nil, errDisk }
func (failingStore) Create(context.Context, string, []byte) error { return errDisk }
func (failingStore) Put(context.Context, string, []byte) error    { return errDisk }
func (failingStore) List(context.Context, string) ([]string, error) {
	return nil, errDisk
}

func TestPublishedStoreErrors(t *testing.T) {
	t.Parallel()
	key := newLedgerKey(t)
	p := anchor.New(failingStore{}, origin, key.vs)
	if _, err := p.Latest(t.Context()); !errors.Is(err, errDisk) || errors.Is(err, translog.ErrNoCheckpoint) {
		t.Errorf("Latest on a failing store = %v: must be the error, never \"nothing published\"", err)
	}
	if err := p.Publish(t.Context(), key.checkpoint(t, 1, "a")); !errors.Is(err, errDisk) {
		t.Errorf("Publish on a failing store = %v", err)
	}
}

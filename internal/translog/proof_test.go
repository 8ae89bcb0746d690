package translog_test

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/appsign/signer/internal/translog"
)

func TestProofs(t *testing.T) {
	t.Parallel()
	l, _ := newLog(t, translog.Options{})
	const n = 37
	var ref memTree
	for _, a := range appendN(t, l, n) {
		ref.add(t, translog.EncodeLeaf(translog.KindSignature, payload(int(a.Index)), a.At))
	}
	ctx := t.Context()

	for _, size := range []int64{1, 2, 3, 8, 16, 17, 36, 37} {
		tree := ref.tree(t, size)
		for _, index := range []int64{0, 1, size / 2, size - 1} {
			if index >= size {
				continue
			}
			t.Run(fmt.Sprintf("inclusion of %d in %d", index, size), func(t *testing.T) {
				p, err := l.InclusionProof(ctx, index, size)
				if err != nil {
					t.Fatal(err)
				}
				if err := tlog.CheckRecord(p, size, tree.Hash, index, ref.leafHash(index)); err != nil {
					t.Errorf("CheckRecord: %v", err)
				}
				// The proof is for this leaf only.
				other := tlog.RecordHash([]byte("other"))
				if err := tlog.CheckRecord(p, size, tree.Hash, index, other); err == nil {
					t.Error("the proof also proves another leaf")
				}
			})
		}
		for _, old := range []int64{1, 2, size / 2, size - 1, size} {
			if old < 1 || old > size {
				continue
			}
			t.Run(fmt.Sprintf("consistency of %d with %d", old, size), func(t *testing.T) {
				p, err := l.ConsistencyProof(ctx, old, size)
				if err != nil {
					t.Fatal(err)
				}
				oldTree := ref.tree(t, old)
				if err := tlog.CheckTree(p, size, tree.Hash, old, oldTree.Hash); err != nil {
					t.Errorf("CheckTree: %v", err)
				}
				forged := tlog.RecordHash([]byte("forged"))
				if old < size {
					if err := tlog.CheckTree(p, size, tree.Hash, old, forged); err == nil {
						t.Error("the proof also proves a forged old root")
					}
				}
			})
		}
	}

	bad := []struct {
		name      string
		inclusion bool
		a, b      int64
	}{
		{"inclusion: negative index", true, -1, 5},
		{"inclusion: index at tree size", true, 5, 5},
		{"inclusion: tree larger than the log", true, 0, n + 1},
		{"consistency: old size 0", false, 0, 5},
		{"consistency: old larger than new", false, 6, 5},
		{"consistency: new larger than the log", false, 5, n + 1},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.inclusion {
				_, err = l.InclusionProof(ctx, tt.a, tt.b)
			} else {
				_, err = l.ConsistencyProof(ctx, tt.a, tt.b)
			}
			if !errors.Is(err, translog.ErrOutOfRange) {
				t.Errorf("err = %v, want ErrOutOfRange", err)
			}
		})
	}
}

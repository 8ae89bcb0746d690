package translog

import (
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestFrontierMatchesTlog streams trees of every size up to 300 through a
// frontier and checks its stored hashes and roots against tlog over all
// stored hashes.
func TestFrontierMatchesTlog(t *testing.T) {
	var all []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			out[i] = all[x]
		}
		return out, nil
	})
	f := &frontier{}
	for n := range int64(300) {
		leaf := fmt.Appendf(nil, "leaf %d", n)
		want, err := tlog.StoredHashes(n, leaf, reader)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, want...)
		got, err := f.append(tlog.RecordHash(leaf))
		if err != nil {
			t.Fatalf("append %d: %v", n, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("record %d: stored hashes %v, want %v", n, got, want)
		}
		wantRoot, _ := tlog.TreeHash(n+1, reader)
		if root, err := f.root(); err != nil || root != wantRoot {
			t.Fatalf("root of %d = %v, %v; want %v", n+1, root, err, wantRoot)
		}
		if len(f.indexes) > 64 {
			t.Fatalf("frontier of %d holds %d hashes", n+1, len(f.indexes))
		}
		// A frontier rebuilt from storage is the same.
		again, err := newFrontier(n+1, mustRead(t, reader, frontierIndexes(n+1)))
		if err != nil || fmt.Sprint(again.indexes, again.hashes) != fmt.Sprint(f.indexes, f.hashes) {
			t.Fatalf("frontier of %d rebuilt from storage differs (%v)", n+1, err)
		}
	}
}

func mustRead(t *testing.T, r tlog.HashReader, indexes []int64) []tlog.Hash {
	t.Helper()
	h, err := r.ReadHashes(indexes)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

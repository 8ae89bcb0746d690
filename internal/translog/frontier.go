package translog

import (
	"fmt"
	"slices"

	"golang.org/x/mod/sumdb/tlog"
)

// frontier is the right edge of a tree of n records: the stored hashes of
// its maximal complete subtrees, at most one per level. That is everything
// tlog reads to append record n (StoredHashes) or to hash the tree
// (TreeHash), so a frontier streams a tree in O(log n) memory.
//
// It implements tlog.HashReader over those hashes only.
type frontier struct {
	n       int64
	indexes []int64 // stored hash indexes, ascending
	hashes  []tlog.Hash
}

// frontierIndexes returns the stored hash indexes of the maximal complete
// subtrees of a tree of n records, left to right (which is ascending).
func frontierIndexes(n int64) []int64 {
	var out []int64
	var start int64
	for level := 62; level >= 0; level-- {
		if n&(1<<level) != 0 {
			out = append(out, tlog.StoredHashIndex(level, start>>level))
			start += 1 << level
		}
	}
	return out
}

// newFrontier returns the frontier of a tree of n records whose frontier
// hashes, in frontierIndexes(n) order, are hashes.
func newFrontier(n int64, hashes []tlog.Hash) (*frontier, error) {
	indexes := frontierIndexes(n)
	if len(hashes) != len(indexes) {
		return nil, fmt.Errorf("frontier of %d records needs %d hashes, got %d", n, len(indexes), len(hashes))
	}
	return &frontier{n: n, indexes: indexes, hashes: hashes}, nil
}

// ReadHashes implements tlog.HashReader.
func (f *frontier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, want := range indexes {
		j := f.find(want)
		if j < 0 {
			return nil, fmt.Errorf("hash %d is not on the frontier of a tree of %d records", want, f.n)
		}
		out[i] = f.hashes[j]
	}
	return out, nil
}

func (f *frontier) find(index int64) int {
	for j, have := range f.indexes {
		if have == index {
			return j
		}
	}
	return -1
}

// append adds record f.n with leaf hash h and returns the hashes to store
// from tlog.StoredHashIndex(0, f.n) on, as tlog.StoredHashes defines them.
func (f *frontier) append(h tlog.Hash) ([]tlog.Hash, error) {
	stored, err := tlog.StoredHashesForRecordHash(f.n, h, f)
	if err != nil {
		return nil, err
	}
	// The new hashes sit at consecutive stored indexes; the last one is the
	// root of the subtree record n just completed, and it replaces the
	// frontier entries it covers (the len(stored)-1 rightmost ones).
	first := tlog.StoredHashIndex(0, f.n)
	keep := len(f.indexes) - (len(stored) - 1)
	f.indexes = append(f.indexes[:keep], first+int64(len(stored))-1)
	f.hashes = append(f.hashes[:keep], stored[len(stored)-1])
	f.n++
	return stored, nil
}

// clone returns a copy of f that grows apart from it.
func (f *frontier) clone() *frontier {
	return &frontier{n: f.n, indexes: slices.Clone(f.indexes), hashes: slices.Clone(f.hashes)}
}

// root returns the hash of the tree of f.n records.
func (f *frontier) root() (tlog.Hash, error) { return tlog.TreeHash(f.n, f) }

// bytes returns the frontier hashes concatenated, as log_head.frontier
// keeps them.
func (f *frontier) bytes() []byte {
	b := make([]byte, len(f.hashes)*tlog.HashSize)
	for i, h := range f.hashes {
		copy(b[i*tlog.HashSize:], h[:])
	}
	return b
}

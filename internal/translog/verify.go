package translog

import (
	"cmp"
	"fmt"
	"iter"
	"slices"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// DefaultMaxProblems is the zero value of VerifyOptions.MaxProblems.
const DefaultMaxProblems = 1000

// VerifyOptions says what Verify checks the entries against.
type VerifyOptions struct {
	// Origin is the log's origin; checkpoints naming another are rejected.
	Origin string
	// Verifiers are the trusted ledger keys.
	Verifiers note.Verifiers
	// Checkpoint is the signed checkpoint to verify the log against,
	// normally the latest.
	Checkpoint []byte
	// Older are earlier signed checkpoints, in any order: the auditor's own
	// copies from previous runs, or the service's history (Log.Checkpoints).
	// Each one is checked too; they narrow ProblemRange and reveal forks.
	// The largest of all signed trees is the one the log must hold.
	Older [][]byte
	// MaxProblems caps the report; 0 means DefaultMaxProblems.
	MaxProblems int
}

// Verify checks a log's entries, in index order from 0 (Log.Entries, or
// the same served by the API), against signed checkpoints, and names what
// is wrong by index. It recomputes the Merkle trees with tlog as it
// streams, in memory logarithmic in the log's size (plus the problems it
// reports). See the package documentation for what it can tell apart.
func Verify(entries iter.Seq2[Entry, error], opts VerifyOptions) Report {
	// The two trees start as one frontier: while every leaf hashes to its
	// stored hash (the common case), they are one tree, and it is hashed
	// once. The first entry that tells them apart gives the stored hashes
	// their own copy (see entry).
	f := &frontier{}
	v := &verification{
		max:      cmp.Or(opts.MaxProblems, DefaultMaxProblems),
		leaves:   f,
		hashes:   f,
		leavesOK: true,
		hashesOK: true,
	}
	if !v.openCheckpoints(opts) {
		return v.rep
	}
	for e, err := range entries {
		if err != nil {
			v.rep.Err = fmt.Errorf("translog: verify: read entries: %w", err)
			break
		}
		v.rep.Entries++
		v.entry(e)
	}
	if v.rep.Err == nil {
		v.gap(v.size) // the leaves missing at the end, if any
	}
	for _, p := range v.pending { // the stream ended before their bound
		v.add(ProblemMismatch, p.Index, p.End, "")
	}
	v.rep.Problems = mergeProblems(v.rep.Problems)
	return v.rep
}

// verification is the state of one Verify run.
type verification struct {
	rep Report
	max int

	bounds []tlog.Tree // signed trees, by size, without duplicates
	next   int         // the next bound to reach
	size   int64       // the largest signed tree's size

	expected int64 // the next index

	// leaves is the tree of the served leaves, with the stored hash
	// standing in for a missing leaf; hashes the tree of the served stored
	// hashes. Each is unusable (…OK false) once an index lacks what it needs.
	leaves, hashes     *frontier
	leavesOK, hashesOK bool
	hashesServed       bool

	// pending are indexes, since the last bound, whose leaf does not match
	// its stored hash: what that means depends on whether the stored
	// hashes prove out at the next bound.
	pending []Problem

	lastLeafGood, lastHashGood int64 // the last bound each tree matched
	leafBadAt                  int64 // the first bound the leaves failed since they last matched, or 0 (no bound has size 0)
	hashBadReported            bool
}

// openCheckpoints verifies the checkpoints and sets the bounds. It returns
// false when the main checkpoint fails.
func (v *verification) openCheckpoints(opts VerifyOptions) bool {
	main, err := OpenCheckpoint(opts.Checkpoint, opts.Origin, opts.Verifiers)
	if err != nil {
		v.add(ProblemCheckpoint, -1, -1, err.Error())
		return false
	}
	v.rep.Tree = main.Tree
	trees := []tlog.Tree{main.Tree}
	for i, msg := range opts.Older {
		cp, err := OpenCheckpoint(msg, opts.Origin, opts.Verifiers)
		if err != nil {
			v.add(ProblemCheckpoint, -1, -1, fmt.Sprintf("older checkpoint #%d: %v", i+1, err))
			continue
		}
		trees = append(trees, cp.Tree)
	}
	// Stable: of two roots for one size, the main checkpoint's is kept.
	slices.SortStableFunc(trees, func(a, b tlog.Tree) int { return cmp.Compare(a.N, b.N) })
	for _, t := range trees {
		if t.N == 0 {
			continue
		}
		if k := len(v.bounds) - 1; k >= 0 && v.bounds[k].N == t.N {
			if v.bounds[k].Hash != t.Hash {
				v.add(ProblemFork, t.N, t.N, "two signed roots for one size")
			}
			continue
		}
		v.bounds = append(v.bounds, t)
	}
	if len(v.bounds) > 0 {
		v.size = v.bounds[len(v.bounds)-1].N
	}
	return true
}

// entry checks one served entry.
func (v *verification) entry(e Entry) {
	if e.Index < v.expected {
		v.add(ProblemDuplicate, e.Index, e.Index+1, "")
		return
	}
	v.gap(e.Index) // the indexes skipped before this one, if any
	v.expected = e.Index + 1
	if e.Index >= v.size {
		v.add(ProblemExtra, e.Index, e.Index+1, "")
		return
	}

	var leafHash tlog.Hash
	if e.Leaf != nil {
		leafHash = tlog.RecordHash(e.Leaf)
		v.checkLeaf(e.Index, e.Leaf)
	} else {
		v.add(ProblemMissing, e.Index, e.Index+1, "")
	}

	if v.hashes == v.leaves {
		if e.Hash != nil && (e.Leaf == nil || leafHash == *e.Hash) {
			// Both trees take the same hash, as they have all along: extend
			// the one frontier they share, once.
			v.hashesServed = true
			v.extend(v.leaves, &v.leavesOK, *e.Hash)
			v.hashesOK = v.leavesOK
			v.boundAt()
			return
		}
		v.hashes = v.leaves.clone()
	}

	if e.Hash == nil {
		v.hashesOK = false
	} else {
		v.hashesServed = true
		v.extend(v.hashes, &v.hashesOK, *e.Hash)
		if e.Leaf != nil && leafHash != *e.Hash {
			v.pend(e.Index)
		}
	}
	switch {
	case e.Leaf != nil:
		v.extend(v.leaves, &v.leavesOK, leafHash)
	case e.Hash != nil:
		v.extend(v.leaves, &v.leavesOK, *e.Hash)
	default:
		v.leavesOK = false
	}
	v.boundAt()
}

// boundAt checks the trees when the entries have reached the next bound.
// entry calls it only for an index below v.size, so the bound of size
// v.size is still ahead.
func (v *verification) boundAt() {
	if v.bounds[v.next].N == v.expected {
		v.bound()
	}
}

// checkLeaf reports a leaf that Append could not have written.
func (v *verification) checkLeaf(index int64, leaf []byte) {
	l, err := DecodeLeaf(leaf)
	switch {
	case err != nil:
		v.add(ProblemMalformed, index, index+1, err.Error())
	case !ValidKind(l.Kind):
		v.add(ProblemMalformed, index, index+1, fmt.Sprintf("unknown kind %q", l.Kind))
	}
}

// extend appends h to tree f unless f is already unusable.
func (v *verification) extend(f *frontier, ok *bool, h tlog.Hash) {
	if !*ok {
		return
	}
	if _, err := f.append(h); err != nil {
		*ok = false
	}
}

// gap handles indexes v.expected..to-1 having no entry at all.
func (v *verification) gap(to int64) {
	if end := min(to, v.size); v.expected < end {
		v.add(ProblemMissing, v.expected, end, "")
		v.leavesOK, v.hashesOK = false, false
		for v.next < len(v.bounds) && v.bounds[v.next].N <= end {
			v.expected = v.bounds[v.next].N
			v.bound()
		}
	}
	v.expected = to
}

// bound checks both trees against the signed root of size v.expected. A
// tree that lacks an index (neither leaf nor hash served) cannot be
// checked; that index is already reported missing.
func (v *verification) bound() {
	t := v.bounds[v.next]
	v.next++
	hashUsable := v.hashesServed && v.hashesOK
	hashOK := hashUsable && rootIs(v.hashes, t.Hash)
	leafOK := v.leavesOK && rootIs(v.leaves, t.Hash)

	if hashOK {
		// The stored hashes are proven: each mismatch is a changed leaf.
		for _, p := range v.pending {
			v.add(ProblemModified, p.Index, p.End, "")
		}
		v.lastHashGood = t.N
	} else {
		if hashUsable && !v.hashBadReported {
			v.add(ProblemHashes, v.lastHashGood, t.N, fmt.Sprintf("they do not hash to the root signed for size %d", t.N))
			v.hashBadReported = true
		}
		for _, p := range v.pending {
			if leafOK {
				v.add(ProblemHashes, p.Index, p.End, "the leaf is as signed; its stored hash is not")
			} else {
				v.add(ProblemMismatch, p.Index, p.End, "")
			}
		}
	}
	v.pending = v.pending[:0]

	switch {
	case leafOK && v.leafBadAt != 0:
		v.add(ProblemFork, v.leafBadAt, t.N, "the leaves match the larger one")
		v.leafBadAt = 0
		v.lastLeafGood = t.N
	case leafOK:
		v.lastLeafGood = t.N
	case v.leavesOK && v.leafBadAt == 0:
		v.leafBadAt = t.N
		if !hashOK {
			v.add(ProblemRange, v.lastLeafGood, t.N, fmt.Sprintf("they do not hash to the root signed for size %d", t.N))
		}
	}
}

func rootIs(f *frontier, want tlog.Hash) bool {
	got, err := f.root()
	return err == nil && got == want
}

// pend records a leaf/stored hash mismatch until the next bound says
// which side to blame.
func (v *verification) pend(index int64) {
	if k := len(v.pending) - 1; k >= 0 && v.pending[k].End == index {
		v.pending[k].End++
		return
	}
	if len(v.pending) < v.max {
		v.pending = append(v.pending, Problem{Index: index, End: index + 1})
	} else {
		v.rep.Truncated = true
	}
}

// add reports a problem, merged into the previous one when it continues it.
func (v *verification) add(kind ProblemKind, index, end int64, detail string) {
	ps := v.rep.Problems
	if k := len(ps) - 1; k >= 0 && continues(ps[k], Problem{Kind: kind, Index: index, End: end, Detail: detail}) {
		ps[k].End = end
		return
	}
	if len(ps) >= v.max {
		v.rep.Truncated = true
		return
	}
	v.rep.Problems = append(ps, Problem{Kind: kind, Index: index, End: end, Detail: detail})
}

// mergeProblems sorts problems by index and merges the ones that continue
// each other (bounds report pending mismatches late, out of order).
func mergeProblems(ps []Problem) []Problem {
	slices.SortStableFunc(ps, func(a, b Problem) int { return cmp.Compare(a.Index, b.Index) })
	out := ps[:0]
	for _, p := range ps {
		if k := len(out) - 1; k >= 0 && continues(out[k], p) {
			out[k].End = p.End
			continue
		}
		out = append(out, p)
	}
	return out
}

// continues reports whether next extends the range of p.
func continues(p, next Problem) bool {
	return p.Kind == next.Kind && p.Detail == next.Detail && p.End == next.Index &&
		next.Index >= 0 && p.Kind != ProblemFork
}

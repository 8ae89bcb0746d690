package translog

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// ProblemKind classifies what Verify found wrong.
type ProblemKind int

// What Verify can find. Index and End of a Problem are leaf indexes, except
// for ProblemCheckpoint and ProblemFork, where they are tree sizes.
const (
	// ProblemCheckpoint: a checkpoint note does not verify or parse, or
	// names another origin. When it is the main checkpoint nothing else is
	// checked.
	ProblemCheckpoint ProblemKind = iota + 1
	// ProblemMissing: the log has no leaf at these indexes (deleted rows,
	// or a log that ends before the signed tree does).
	ProblemMissing
	// ProblemModified: the leaf at these indexes is not the one the signed
	// tree holds (changed, or swapped with another): the stored leaf hash
	// it fails to match was proven against a signed root.
	ProblemModified
	// ProblemExtra: leaves beyond the largest signed tree: inserted rows,
	// or appended after that checkpoint (check against a newer one).
	ProblemExtra
	// ProblemDuplicate: an index served twice or out of order.
	ProblemDuplicate
	// ProblemMalformed: a leaf that does not decode or has an unknown kind.
	// (A timestamp out of order is not checked apart: a changed timestamp
	// is a changed leaf, and is named as such.)
	ProblemMalformed
	// ProblemHashes: the stored hashes do not hash to the signed root: the
	// hash table was rewritten or damaged in [Index, End), so it cannot
	// name changed leaves there. Reported per index instead when the leaves
	// themselves match the signed root (only the stored hash is wrong).
	ProblemHashes
	// ProblemMismatch: the leaf at these indexes does not match its stored
	// hash, and the stored hashes are not proven (ProblemHashes), so either
	// side may have changed. Most likely the leaf, if only one row was
	// rewritten by hand.
	ProblemMismatch
	// ProblemRange: the leaves in [Index, End) do not hash to the signed
	// root of size End, and no proven stored hash names which one changed.
	// The older checkpoints given to Verify bound the range.
	ProblemRange
	// ProblemFork: the checkpoint of size Index disagrees with a larger one
	// (of size End) the leaves match, or with another of the same size: the
	// ledger key signed two different histories.
	ProblemFork
)

var problemNames = map[ProblemKind]string{
	ProblemCheckpoint: "bad checkpoint",
	ProblemMissing:    "missing",
	ProblemModified:   "modified",
	ProblemExtra:      "not in the signed tree",
	ProblemDuplicate:  "duplicate or out of order",
	ProblemMalformed:  "malformed",
	ProblemHashes:     "stored hashes do not match the signed tree",
	ProblemMismatch:   "leaf and stored hash disagree",
	ProblemRange:      "leaves do not match the signed tree",
	ProblemFork:       "checkpoints disagree (fork)",
}

func (k ProblemKind) String() string {
	if s, ok := problemNames[k]; ok {
		return s
	}
	return fmt.Sprintf("ProblemKind(%d)", int(k))
}

// Problem is one finding of Verify, about the indexes [Index, End).
type Problem struct {
	Kind   ProblemKind
	Index  int64
	End    int64
	Detail string // more about it, or ""
}

func (p Problem) String() string {
	var where string
	switch {
	case p.Kind == ProblemCheckpoint:
		where = "checkpoint"
	case p.Kind == ProblemFork:
		where = fmt.Sprintf("checkpoints %d and %d", p.Index, p.End)
	case p.End == p.Index+1:
		where = fmt.Sprintf("leaf %d", p.Index)
	default:
		where = fmt.Sprintf("leaves %d..%d", p.Index, p.End-1)
	}
	if p.Detail != "" {
		return fmt.Sprintf("%s: %s: %s", where, p.Kind, p.Detail)
	}
	return fmt.Sprintf("%s: %s", where, p.Kind)
}

// Report is Verify's verdict.
type Report struct {
	// Tree is the main checkpoint's signed tree (zero if it failed).
	Tree tlog.Tree
	// Entries is how many entries were read.
	Entries int64
	// Problems in index order; merged into ranges where contiguous.
	Problems []Problem
	// Truncated is set when more than MaxProblems were found.
	Truncated bool
	// Err is set when the entries could not all be read; Problems hold
	// what was found before.
	Err error
}

// OK reports whether the log checked out: every leaf of the signed tree
// present and unchanged, nothing else, and no error.
func (r Report) OK() bool { return len(r.Problems) == 0 && !r.Truncated && r.Err == nil }

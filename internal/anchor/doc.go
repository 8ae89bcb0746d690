// Package anchor publishes the ledger's signed checkpoints outside the
// database, so that whoever administers the database cannot cut the log
// back or rewrite it without the service, and every auditor, noticing.
//
// A Published is a translog.Anchor over a Store: a small interface of
// named objects (Get, Create, Put, List) that a directory implements
// (Dir, atomic writes through internal/atomicfile) and an object-store
// bucket could implement the same way. The layout is
//
//	checkpoints/<tree size>   every signed checkpoint note, written once
//	latest                    the largest one, replaced as the log grows
//
// Every note is verified with the ledger key before it is trusted, so a
// file planted in the directory cannot stand in for a checkpoint; a
// different tree published under a size already taken is refused as a
// fork. See docs/ledger.md, "Checkpoints outside the database".
package anchor

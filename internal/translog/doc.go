// Package translog is the tamper-evident log of the signer's ledger: every
// ledger event (signature, revocation, key or certificate event, admin
// action) is a leaf of an append-only RFC 6962 Merkle tree kept in
// PostgreSQL, whose signed checkpoints let anyone holding one prove later
// that the record was not changed.
//
// It owns the leaf encoding (EncodeLeaf), the sequencer that appends leaves
// in batches (Log.Append, Log.AppendWith), checkpoints in the C2SP
// tlog-checkpoint signed-note format (Log.Checkpoint, Log.Publish),
// inclusion and consistency proofs, the entries served to auditors
// (Log.Entries) and the offline verifier (Verify). Hashing and proofs are
// golang.org/x/mod/sumdb/tlog's; notes are golang.org/x/mod/sumdb/note's.
// The tables are created by migrations/00002_translog.sql.
//
// # Leaves
//
// A leaf is a versioned, length-prefixed binary encoding of (kind, payload,
// timestamp); its hash is tlog.RecordHash of those bytes. The timestamp is
// taken when the leaf is sequenced, at microsecond precision, and never
// decreases with the index. The payload is the caller's (the ledger's
// canonical form of the event).
//
// # Sequencing
//
// Each Log runs one sequencer goroutine. Appends queue up; the sequencer
// takes everything queued (up to Options.MaxBatch) and commits it in one
// transaction, while the next batch queues behind it (group commit). The
// transaction locks the single log_head row (SELECT ... FOR UPDATE): that
// lock is the only ordering point, so Logs in several replicas on one
// database take turns per batch, not per append, and indexes are
// consecutive with no fork, gap or duplicate. Appends that queued while the
// sequencer waited for the lock join its batch.
//
// log_head holds, besides the size and root, the tree's frontier: the
// stored hashes of its maximal complete subtrees, at most one per level.
// That is all tlog.StoredHashes reads to append (the frontier serves as its
// HashReader), so the lock's one round trip gives a sequencer everything
// it needs, whichever replica appended last, with no read of log_hashes
// and no cache to go stale. Under the lock the sequencer checks that the
// frontier hashes to the stored root, gives the entries consecutive
// indexes, computes their leaf and stored hashes, and in one round trip
// inserts leaves and hashes and moves log_head; then it commits. A caller
// learns its index only after the commit. A deferred constraint trigger on
// log_head rejects a commit whose leaves or hashes do not exactly fill the
// new size.
//
// AppendWith lets a caller write its own rows in the same transaction as
// the leaf (the signatures row of a signing, say), knowing the index and
// timestamp, and build the payload from them: see TxFunc. AppendGroup does
// the same for many appends at once: a Group writes the rows of all its
// appends in a batch with one statement, and falls back to a TxFunc per
// entry when that statement fails.
//
// # Append-only in the database
//
// Triggers reject UPDATE, DELETE and TRUNCATE on log_leaves, log_hashes and
// log_checkpoints, and DELETE, TRUNCATE and shrinking on log_head. The
// migration's header says which privileges the service role should keep.
// Neither stops a superuser; the checkpoints and Verify are what catch one.
//
// # Checkpoints
//
// Checkpoint signs "<origin>\n<size>\n<base64 root>\n" with the ledger key
// through a note.Signer over a kms.Signer (NoteSigner; the key name is the
// origin and the key hash follows note's Ed25519 verifier keys, see
// VerifierKey). Before signing, it checks that the stored hashes hash to
// the stored root and that the tree extends the latest signed checkpoint
// by a consistency proof over the stored hashes; otherwise it refuses with
// ErrCorrupt, so a rewritten database never gets a signature. Publish signs
// shortly after appends and on an interval.
//
// # Verification
//
// A signed root over n leaves alone can only say that the leaves as a whole
// are wrong. To name the index, Verify uses what else the service serves
// and proves it against signed roots before trusting it:
//
//   - The stored leaf hashes (level 0 of log_hashes), served with each leaf
//     (Entry.Hash). Verify streams two trees, one over the served leaves and
//     one over the served stored hashes. If the stored hashes hash to a
//     signed root, they are exactly the leaf hashes that checkpoint signed
//     (collision resistance), and every leaf that differs from its stored
//     hash is named: ProblemModified. That covers a row changed in place,
//     two rows' contents swapped, a forged row put where one was deleted.
//   - Indexes: a row deleted from log_leaves shows as an index with a
//     stored hash but no leaf (ProblemMissing), a row inserted past the
//     signed size as ProblemExtra, an index twice as ProblemDuplicate.
//   - Older signed checkpoints (VerifyOptions.Older: the auditor's copies,
//     or log_checkpoints, which only the ledger key can fill): if the stored
//     hashes were rewritten too, so they no longer hash to the signed root
//     (ProblemHashes), the tree over the leaves is checked against every
//     signed size, and the first change is bounded between the last size
//     that matches and the first that does not (ProblemRange). The
//     publisher signs often, so the range is a batch or a few. A signed
//     size the leaves fail while a larger one matches is ProblemFork.
//
// What cannot be detected: leaves appended after the latest checkpoint by
// anyone who can write to the database (the next checkpoint will cover
// them: the service cannot tell a forged append from a real one), and
// anything before the oldest checkpoint when the stored hashes were
// rewritten and no older checkpoint is kept. Leaves are served re-encoded
// from the kind, payload and appended_at columns, which is what other
// readers use, so a change to any of them shows. A row stores only those
// parts (migrations/00120; rows written before also hold the leaf's bytes
// and hash, which nothing reads); the SQL function log_leaf(kind, payload,
// appended_at) gives the exact bytes hashed, for export and inspection.
package translog

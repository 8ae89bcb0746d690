package translog_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/appsign/signer/internal/pgtest"
)

// tamperer changes the log tables as a database superuser can: with the
// append-only triggers disabled.
type tamperer struct {
	conn *pgx.Conn
}

func (tm *tamperer) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	ctx := t.Context()
	for _, table := range []string{"log_leaves", "log_hashes", "log_checkpoints", "log_head"} {
		if _, err := tm.conn.Exec(ctx, `ALTER TABLE `+table+` DISABLE TRIGGER USER`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tm.conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	for _, table := range []string{"log_leaves", "log_hashes", "log_checkpoints", "log_head"} {
		if _, err := tm.conn.Exec(ctx, `ALTER TABLE `+table+` ENABLE TRIGGER USER`); err != nil {
			t.Fatal(err)
		}
	}
}

// setPayload changes leaf i's payload, keeping the row self-consistent
// (leaf and leaf_hash recomputed, as anyone who read this package could).
func (tm *tamperer) setPayload(t *testing.T, i int64, payload []byte) {
	t.Helper()
	tm.exec(t, `UPDATE log_leaves SET payload = $2 WHERE idx = $1`, i, payload)
}

// rewriteTree changes leaf i's payload and recomputes every stored hash and
// the head's root and frontier, as a thorough attacker would: the stored
// tree is self-consistent, only the signed checkpoints disagree.
func (tm *tamperer) rewriteTree(t *testing.T, i int64, payload []byte) {
	t.Helper()
	tm.setPayload(t, i, payload)
	ctx := t.Context()
	rows, _ := tm.conn.Query(ctx, `SELECT log_leaf(kind, payload, appended_at) FROM log_leaves ORDER BY idx`)
	leaves, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	var ref memTree
	for _, leaf := range leaves {
		ref.add(t, leaf)
	}
	tree := ref.tree(t, int64(len(leaves)))
	tm.exec(t, `DELETE FROM log_hashes`)
	ids := make([]int64, len(ref.hashes))
	hashes := make([][]byte, len(ref.hashes))
	for k := range ref.hashes {
		ids[k], hashes[k] = int64(k), ref.hashes[k][:]
	}
	tm.exec(t, `INSERT INTO log_hashes (id, hash) SELECT * FROM unnest($1::bigint[], $2::bytea[])`, ids, hashes)
	// The head's frontier: the hashes of the maximal complete subtrees.
	var frontier []byte
	var start int64
	for level := 62; level >= 0; level-- {
		if tree.N&(1<<level) != 0 {
			h := ref.hashes[tlog.StoredHashIndex(level, start>>level)]
			frontier = append(frontier, h[:]...)
			start += 1 << level
		}
	}
	tm.exec(t, `UPDATE log_head SET root_hash = $1, frontier = $2`, tree.Hash[:], frontier)
}

// newUnmigrated returns the URL of a fresh database without the schema.
func newUnmigrated(t *testing.T) string { return pgtest.URL(t) }

// cutBack removes every leaf from index n on, with their stored hashes
// and the stored checkpoints that cover them, and moves the head back to
// the tree of n leaves, root and frontier recomputed: the database then
// holds a consistent, shorter log, as after a superuser's cut or a
// failover to a standby that lost the last transactions.
func (tm *tamperer) cutBack(t *testing.T, n int64) {
	t.Helper()
	rows, _ := tm.conn.Query(t.Context(), `SELECT log_leaf(kind, payload, appended_at) FROM log_leaves WHERE idx < $1 ORDER BY idx`, n)
	leaves, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	var ref memTree
	for _, leaf := range leaves {
		ref.add(t, leaf)
	}
	tree := ref.tree(t, n)
	tm.exec(t, `DELETE FROM log_leaves WHERE idx >= $1`, n)
	tm.exec(t, `DELETE FROM log_hashes WHERE id >= $1`, int64(len(ref.hashes)))
	tm.exec(t, `DELETE FROM log_checkpoints WHERE tree_size > $1`, n)
	tm.exec(t, `UPDATE log_head SET tree_size = $1, root_hash = $2, frontier = $3`, n, tree.Hash[:], ref.frontier(n))
}

// frontier returns the stored hashes of the maximal complete subtrees of
// the tree of n leaves, concatenated, as log_head.frontier holds them.
func (m *memTree) frontier(n int64) []byte {
	var out []byte
	var start int64
	for level := 62; level >= 0; level-- {
		if n&(1<<level) != 0 {
			h := m.hashes[tlog.StoredHashIndex(level, start>>level)]
			out = append(out, h[:]...)
			start += 1 << level
		}
	}
	return out
}

package translog_test

import (
	"bytes"
	"testing"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/appsign/signer/internal/translog"
)

// TestLeafRowsStoreTheirParts: a leaf row holds its kind, payload and
// time, not the leaf's bytes or hash again (migrations/00120), whether the
// sequencer or AppendTx wrote it; the SQL function log_leaf encodes
// exactly the bytes the tree hashes, which is what Entries serves.
func TestLeafRowsStoreTheirParts(t *testing.T) {
	t.Parallel()
	l, conn := newLog(t, translog.Options{})
	ctx := t.Context()
	for i, kind := range []string{translog.KindSignature, translog.KindRevocation, translog.KindKey, translog.KindCertificate} {
		if _, err := l.Append(ctx, kind, payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		_, err := l.AppendTx(ctx, tx, translog.KindAdmin, []byte(`{"é":"\u00e9"}`))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	entries := collect(t, l, 5)
	rows, err := conn.Query(ctx, `SELECT idx, leaf IS NULL AND leaf_hash IS NULL, log_leaf(kind, payload, appended_at),
		sha256('\x00'::bytea || log_leaf(kind, payload, appended_at)) FROM log_leaves ORDER BY idx`)
	if err != nil {
		t.Fatal(err)
	}
	var (
		idx       int64
		lean      bool
		leaf, sum []byte
		n         int
	)
	if _, err := pgx.ForEachRow(rows, []any{&idx, &lean, &leaf, &sum}, func() error {
		e := entries[idx]
		if !lean {
			t.Errorf("leaf %d: the row stores the leaf's bytes or hash", idx)
		}
		if !bytes.Equal(leaf, e.Leaf) {
			t.Errorf("leaf %d: log_leaf gives %x, the log serves %x", idx, leaf, e.Leaf)
		}
		if h := tlog.RecordHash(e.Leaf); !bytes.Equal(sum, h[:]) || e.Hash == nil || *e.Hash != h {
			t.Errorf("leaf %d: SQL hash %x, stored hash %v, want %x", idx, sum, e.Hash, h)
		}
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("%d leaf rows, want 5", n)
	}
}

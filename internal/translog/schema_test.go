package translog_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/appsign/signer/internal/translog"
)

// TestAppendOnly: with the triggers in place, not even a superuser's plain
// UPDATE, DELETE or TRUNCATE gets through, nor a head that shrinks or runs
// ahead of its leaves.
func TestAppendOnly(t *testing.T) {
	t.Parallel()
	l, conn := newLog(t, translog.Options{})
	appendN(t, l, 3)
	if _, err := l.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		sql      string
		wantCode string
	}{
		{"update leaf", `UPDATE log_leaves SET payload = 'x' WHERE idx = 1`, "23001"},
		{"delete leaf", `DELETE FROM log_leaves WHERE idx = 2`, "23001"},
		// signatures.log_index references log_leaves (migrations/00010), so
		// PostgreSQL refuses this before the trigger runs.
		{"truncate leaves", `TRUNCATE log_leaves`, "0A000"},
		{"update hash", `UPDATE log_hashes SET hash = sha256('x'::bytea) WHERE id = 0`, "23001"},
		{"delete hash", `DELETE FROM log_hashes`, "23001"},
		{"truncate hashes", `TRUNCATE log_hashes`, "23001"},
		{"update checkpoint", `UPDATE log_checkpoints SET note = 'x'`, "23001"},
		{"delete checkpoint", `DELETE FROM log_checkpoints`, "23001"},
		{"truncate checkpoints", `TRUNCATE log_checkpoints`, "23001"},
		{"delete head", `DELETE FROM log_head`, "23001"},
		{"truncate head", `TRUNCATE log_head`, "23001"},
		{"second head", `INSERT INTO log_head (singleton, tree_size, root_hash) VALUES (false, 0, sha256(''::bytea))`, "23514"},
		{"shrink head", `UPDATE log_head SET tree_size = 2`, "23001"},
		{"head ahead of its leaves", `UPDATE log_head SET tree_size = 4`, "23000"},
		{"unknown kind", `INSERT INTO log_leaves (idx, kind, payload, leaf, leaf_hash, appended_at)
			VALUES (100, 'forged', '', '', sha256(''::bytea), now())`, "23514"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each in a transaction rolled back, so the cases don't mix.
			tx, err := conn.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(t.Context())
			_, err = tx.Exec(t.Context(), tt.sql)
			if err == nil {
				err = tx.Commit(t.Context()) // the deferred head check runs here
			}
			var pgErr *pgconn.PgError
			switch {
			case !errors.As(err, &pgErr):
				t.Errorf("err = %v, want SQLSTATE %s", err, tt.wantCode)
			case tt.wantCode != "" && pgErr.Code != tt.wantCode:
				t.Errorf("SQLSTATE %s (%s), want %s", pgErr.Code, pgErr.Message, tt.wantCode)
			}
		})
	}
	// A stray row past the head is accepted by the table (a trigger cannot
	// tell it from the sequencer's own), but it blocks the sequencer rather
	// than being adopted into the tree.
	if _, err := conn.Exec(t.Context(), `INSERT INTO log_leaves (idx, kind, payload, leaf, leaf_hash, appended_at)
		VALUES (3, 'admin', '', '', sha256(''::bytea), now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(t.Context(), translog.KindAdmin, nil); err == nil {
		t.Error("Append over a stray row at its index succeeded")
	}
}

// TestServiceRolePrivileges applies the grants the migration's deployment
// note recommends: the service role can append and sequence, and is denied
// changes even before the triggers are reached.
func TestServiceRolePrivileges(t *testing.T) {
	t.Parallel()
	l, conn := newLog(t, translog.Options{})
	appendN(t, l, 2)
	ctx := t.Context()
	role := "svc_" + conn.Config().Database // roles are cluster-wide: one per test database
	for _, sql := range []string{
		`CREATE ROLE ` + role,
		`REVOKE ALL ON log_leaves, log_hashes, log_checkpoints, log_head FROM ` + role,
		`GRANT SELECT, INSERT ON log_leaves, log_hashes, log_checkpoints TO ` + role,
		`GRANT SELECT, UPDATE ON log_head TO ` + role,
		`SET ROLE ` + role,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	tests := []struct {
		name     string
		sql      string
		wantCode string
	}{
		{"lock the head", `SELECT tree_size FROM log_head FOR UPDATE`, ""},
		{"read leaves", `SELECT count(*) FROM log_leaves`, ""},
		{"update leaf", `UPDATE log_leaves SET payload = 'x'`, "42501"},
		{"delete hashes", `DELETE FROM log_hashes`, "42501"},
		{"truncate checkpoints", `TRUNCATE log_checkpoints`, "42501"},
		{"disable triggers", `ALTER TABLE log_leaves DISABLE TRIGGER USER`, "42501"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := conn.Exec(ctx, tt.sql)
			var pgErr *pgconn.PgError
			switch {
			case tt.wantCode == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.wantCode != "" && (!errors.As(err, &pgErr) || pgErr.Code != tt.wantCode):
				t.Errorf("err = %v, want SQLSTATE %s", err, tt.wantCode)
			}
		})
	}
}

package dbroles

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// serviceUpdates are the only UPDATE privileges of the service role, by
// table: the columns the code moves, each guarded by a trigger that allows
// only the forward transition. Every other table is SELECT and INSERT only.
// A column list of nil means the whole table: LOCK TABLE … IN EXCLUSIVE
// MODE (one publisher of revocation lists and CRLs at a time) needs a
// table-level UPDATE, which the tables' append-only triggers then refuse.
var serviceUpdates = map[string][]string{
	// The sequencer moves the head; SELECT … FOR UPDATE locks it.
	"log_head": {"tree_size", "root_hash", "frontier", "last_at"},
	// Rotation and retirement move state; the trigger allows nothing else.
	"key_versions": {"state", "retired_at"},
	// Create/rotate lock the key row with SELECT … FOR UPDATE, which needs
	// UPDATE on some column: name is referenced by every version (foreign
	// key, no cascade), so it cannot change once a key exists.
	"keys": {"name"},
	// Approve and consume; the trigger refuses everything else.
	"approvals": {"approved_by", "approved_at", "consumed_at"},
	// A revocation moved earlier keeps one row per target.
	"revocations":      {"effective_from", "reason"},
	"revocation_lists": nil,
	"crls":             nil,
}

// serviceNoAccess are tables the service never needs.
var serviceNoAccess = []string{"goose_db_version"}

// GrantService gives the service role exactly its privileges on every table
// and sequence of the public schema, revoking whatever else it had. conn
// must be the tables' owner (the migration role) or a superuser. Safe to
// repeat; run it after every migration (`signer db roles` does).
func GrantService(ctx context.Context, conn *pgx.Conn, service string) error {
	if !roleRE.MatchString(service) {
		return fmt.Errorf("%w: %q", ErrInvalidRole, service)
	}
	tables, err := publicTables(ctx, conn)
	if err != nil {
		return err
	}
	svc := ident(service)
	var stmts []string
	for _, t := range tables {
		stmts = append(stmts, `REVOKE ALL ON TABLE `+ident(t)+` FROM `+svc)
		if contains(serviceNoAccess, t) {
			continue
		}
		stmts = append(stmts, `GRANT SELECT, INSERT ON TABLE `+ident(t)+` TO `+svc)
		cols, ok := serviceUpdates[t]
		switch {
		case !ok:
		case cols == nil:
			stmts = append(stmts, `GRANT UPDATE ON TABLE `+ident(t)+` TO `+svc)
		default:
			quoted := make([]string, len(cols))
			for i, c := range cols {
				quoted[i] = ident(c)
			}
			stmts = append(stmts, `GRANT UPDATE (`+strings.Join(quoted, ", ")+`) ON TABLE `+ident(t)+` TO `+svc)
		}
	}
	stmts = append(stmts, `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO `+svc)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("dbroles: grant: %w", err)
	}
	defer tx.Rollback(ctx)
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("dbroles: %s: %w", s, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("dbroles: grant: %w", err)
	}
	return nil
}

func publicTables(ctx context.Context, conn *pgx.Conn) ([]string, error) {
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v') ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("dbroles: list tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("dbroles: list tables: %w", err)
	}
	return tables, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

package dbroles_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/appsign/signer/internal/dbroles"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// as returns databaseURL connecting as role instead (the test cluster
// trusts its private socket).
func as(t *testing.T, databaseURL, role string) string {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return u.String()
}

func connect(t *testing.T, databaseURL string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(t.Context(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// TestSetupLeastPrivilege runs `signer db roles`' setup twice on a fresh
// database, then plays someone holding the service role's credentials:
// every way to rewrite or remove ledger history is refused for want of
// privilege, while what the service does (lock the log head, publish a
// revocation list under its table lock) is allowed.
func TestSetupLeastPrivilege(t *testing.T) {
	admin := pgtest.URL(t)
	r := dbroles.DefaultRoles
	for i := range 2 { // repeatable, as after an upgrade
		if err := dbroles.Setup(t.Context(), admin, r); err != nil {
			t.Fatalf("Setup #%d: %v", i+1, err)
		}
	}

	checks := []struct {
		name       string
		url        string
		privileged bool
		super      bool
	}{
		{"administrator", admin, true, true},
		{"migration role owns the tables", as(t, admin, r.Migrator), true, false},
		{"service role", as(t, admin, r.Service), false, false},
	}
	for _, c := range checks {
		t.Run("check "+c.name, func(t *testing.T) {
			st, err := dbroles.Check(t.Context(), connect(t, c.url))
			if err != nil {
				t.Fatal(err)
			}
			if st.Privileged() != c.privileged || st.Superuser != c.super || (st.Problem() == "") == c.privileged {
				t.Fatalf("Check = %+v (problem %q), want privileged %v superuser %v", st, st.Problem(), c.privileged, c.super)
			}
		})
	}

	svc := connect(t, as(t, admin, r.Service))
	refused := []struct{ name, sql string }{
		{"delete a signature", `DELETE FROM signatures`},
		{"rewrite a signature", `UPDATE signatures SET caller = 'x'`},
		{"truncate the log", `TRUNCATE log_leaves`},
		{"delete revocations", `DELETE FROM revocations`},
		{"disable the append-only triggers", `ALTER TABLE signatures DISABLE TRIGGER ALL`},
		{"drop the log", `DROP TABLE log_leaves`},
		{"replace a key version's public key", `UPDATE key_versions SET public_key = public_key`},
		{"reassign an approval's requester", `UPDATE approvals SET requested_by = requested_by`},
		{"replace a trigger function", `CREATE OR REPLACE FUNCTION log_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`},
		{"create a table", `CREATE TABLE shadow (x int)`},
		{"fake the schema version", `INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)`},
		{"grant itself more", `GRANT DELETE ON signatures TO ` + r.Service + `; DELETE FROM signatures`},
	}
	for _, c := range refused {
		t.Run("service cannot "+c.name, func(t *testing.T) {
			_, err := svc.Exec(t.Context(), c.sql)
			if code := sqlState(err); code != "42501" {
				t.Fatalf("%s: err = %v (SQLSTATE %q), want insufficient_privilege (42501)", c.sql, err, code)
			}
		})
	}

	t.Run("service can do what the ledger needs", func(t *testing.T) {
		tx, err := svc.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(context.Background())
		for _, s := range []string{
			`SELECT tree_size FROM log_head FOR UPDATE`,
			`SELECT name FROM keys FOR UPDATE`,
			`LOCK TABLE revocation_lists IN EXCLUSIVE MODE`,
			`LOCK TABLE crls IN EXCLUSIVE MODE`,
			`SELECT count(*) FROM signatures`,
		} {
			if _, err := tx.Exec(t.Context(), s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	})
}

// TestSetupRefusesPowerfulRoles: an existing role that is a superuser (or
// may create roles) is not taken as the service role.
func TestSetupRefusesPowerfulRoles(t *testing.T) {
	admin := pgtest.URL(t)
	c := connect(t, admin)
	if _, err := c.Exec(t.Context(), `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'powerful_svc') THEN CREATE ROLE powerful_svc LOGIN CREATEROLE; END IF; END $$`); err != nil {
		t.Fatal(err)
	}
	err := dbroles.Setup(t.Context(), admin, dbroles.Roles{Migrator: "signer_migrator", Service: "powerful_svc"})
	if !errors.Is(err, dbroles.ErrInvalidRole) {
		t.Fatalf("Setup with a CREATEROLE service role = %v, want ErrInvalidRole", err)
	}
	for _, bad := range []dbroles.Roles{{Migrator: "a", Service: "a"}, {Migrator: "Robert'); DROP", Service: "s"}, {Migrator: "m", Service: "pg_monitor"}} {
		if err := dbroles.Setup(t.Context(), admin, bad); !errors.Is(err, dbroles.ErrInvalidRole) {
			t.Errorf("Setup(%+v) = %v, want ErrInvalidRole", bad, err)
		}
	}
}

// TestSetupAdoptsASuperuserMigratedSchema: a database migrated (or
// restored) as a superuser is handed to the migration role, so the service
// role gets its grants and later migrations can alter every table.
func TestSetupAdoptsASuperuserMigratedSchema(t *testing.T) {
	admin := pgtest.URL(t)
	if err := ledger.Migrate(t.Context(), admin); err != nil {
		t.Fatal(err)
	}
	r := dbroles.DefaultRoles
	if err := dbroles.Setup(t.Context(), admin, r); err != nil {
		t.Fatal(err)
	}
	c := connect(t, admin)
	rows, err := c.Query(t.Context(), `SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND pg_get_userbyid(c.relowner) <> $1
		UNION ALL SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> $1`, r.Migrator)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(foreign) > 0 {
		t.Fatalf("still owned by someone else after Setup: %v", foreign)
	}
	st, err := dbroles.Check(t.Context(), connect(t, as(t, admin, r.Service)))
	if err != nil || st.Privileged() {
		t.Fatalf("service role after adoption: %+v, %v", st, err)
	}
	if _, err := connect(t, as(t, admin, r.Service)).Exec(t.Context(), `SELECT count(*) FROM signatures`); err != nil {
		t.Fatalf("service role cannot read the adopted tables: %v", err)
	}
}

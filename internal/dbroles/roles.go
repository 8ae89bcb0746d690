package dbroles

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5"
)

// Roles names the two roles.
type Roles struct {
	// Migrator owns the schema and runs the migrations.
	Migrator string
	// Service is what `signer serve` connects as.
	Service string
}

// DefaultRoles are the names `signer db roles` uses unless told otherwise.
var DefaultRoles = Roles{Migrator: "signer_migrator", Service: "signer_service"}

// ErrInvalidRole means a role name is not a plain lowercase identifier, or
// names an existing role with powers the signer must not have.
var ErrInvalidRole = errors.New("dbroles: invalid role")

var roleRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func (r Roles) check() error {
	for _, n := range []string{r.Migrator, r.Service} {
		if !roleRE.MatchString(n) || len(n) >= 6 && n[:3] == "pg_" {
			return fmt.Errorf("%w: %q: want a lowercase identifier (letters, digits, _), not starting with pg_", ErrInvalidRole, n)
		}
	}
	if r.Migrator == r.Service {
		return fmt.Errorf("%w: the migration and service roles must differ", ErrInvalidRole)
	}
	return nil
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

// Create makes both roles (LOGIN, no superuser, CREATEDB, CREATEROLE,
// replication or RLS bypass; no password: set one with ALTER ROLE … PASSWORD
// from psql, or use certificate or IAM authentication) unless they exist,
// and gives the migration role the current database's public schema and
// everything already in it. conn must be a superuser's. Safe to repeat.
func Create(ctx context.Context, conn *pgx.Conn, r Roles) error {
	if err := r.check(); err != nil {
		return err
	}
	for _, name := range []string{r.Migrator, r.Service} {
		var super, exists bool
		err := conn.QueryRow(ctx, `SELECT rolsuper OR rolcreaterole OR rolbypassrls OR rolreplication, true FROM pg_roles WHERE rolname = $1`, name).Scan(&super, &exists)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if _, err := conn.Exec(ctx, `CREATE ROLE `+ident(name)+` LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`); err != nil {
				return fmt.Errorf("dbroles: create role %s: %w", name, err)
			}
		case err != nil:
			return fmt.Errorf("dbroles: read role %s: %w", name, err)
		case super:
			return fmt.Errorf("%w: %s exists and is a superuser or may create roles, replicate or bypass row security", ErrInvalidRole, name)
		}
	}
	var db string
	if err := conn.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		return fmt.Errorf("dbroles: %w", err)
	}
	stmts := []string{
		`REVOKE ALL ON DATABASE ` + ident(db) + ` FROM PUBLIC`,
		`GRANT CONNECT, TEMPORARY ON DATABASE ` + ident(db) + ` TO ` + ident(r.Migrator) + `, ` + ident(r.Service),
		`REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
		`GRANT USAGE, CREATE ON SCHEMA public TO ` + ident(r.Migrator),
		`GRANT USAGE ON SCHEMA public TO ` + ident(r.Service),
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("dbroles: %s: %w", s, err)
		}
	}
	return adoptSchema(ctx, conn, r.Migrator)
}

// adoptSchema makes the migration role own every table, sequence and
// function of the public schema that someone else owns (a database first
// migrated as a superuser), so later migrations can alter them and the
// service role, owning nothing, cannot.
func adoptSchema(ctx context.Context, conn *pgx.Conn, migrator string) error {
	rows, err := conn.Query(ctx, `
		SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END,
		       quote_ident(c.relname)
		  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'S')
		   AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
		   AND pg_get_userbyid(c.relowner) <> $1
		UNION ALL
		SELECT 'FUNCTION', p.oid::regprocedure::text
		  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		 WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> $1`, migrator)
	if err != nil {
		return fmt.Errorf("dbroles: list schema objects: %w", err)
	}
	var stmts []string
	for rows.Next() {
		var kind, name string
		if err := rows.Scan(&kind, &name); err != nil {
			return fmt.Errorf("dbroles: list schema objects: %w", err)
		}
		stmts = append(stmts, `ALTER `+kind+` `+name+` OWNER TO `+ident(migrator))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("dbroles: list schema objects: %w", err)
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("dbroles: %s: %w", s, err)
		}
	}
	return nil
}

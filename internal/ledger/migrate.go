package ledger

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/appsign/signer/migrations"
)

// migrationLockID names the advisory lock that serializes migrations across
// processes; it differs from goose's default so other goose users of the same
// database do not wait on us.
const migrationLockID int64 = 0x7369676e65720001 // "signer" + 1

// Migrate applies the pending migrations of package migrations to the
// database. It is idempotent, and safe when several processes call it at
// once: they take turns under a PostgreSQL advisory lock.
func Migrate(ctx context.Context, databaseURL string) error {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		// pgx's error quotes the URL, password redaction being best effort.
		return fmt.Errorf("ledger: migrate: %w", ErrInvalidURL)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close() // also ends the session holding the lock, should unlock fail

	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS,
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return fmt.Errorf("ledger: migrate: load migrations: %w", err)
	}

	// The lock covers all of Up, not just the part goose locks with
	// WithSessionLocker: goose first checks for pending migrations (creating
	// its version table) unlocked, where concurrent callers collide and
	// retry after a second.
	unlock, err := lockMigrations(ctx, db)
	if err != nil {
		return wrap("migrate: take lock", err)
	}
	defer unlock()
	if _, err := provider.Up(ctx); err != nil {
		return wrap("migrate", err)
	}
	return nil
}

// lockMigrations waits, in the server, for the session advisory lock
// migrationLockID on a connection of its own, and returns its release.
func lockMigrations(ctx context.Context, db *sql.DB) (unlock func(), err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	// Blocks until granted, or until ctx cancels the query.
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
		conn.Close()
		return nil, err
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockID)
		conn.Close()
	}, nil
}

package ledger_test

import (
	"io/fs"
	"slices"
	"strconv"

	"github.com/appsign/signer/migrations"

	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgtest"
)

// schemaState returns the applied goose versions and whether the signatures table exists.
func schemaState(t *testing.T, url string) (versions []int64, hasTable bool) {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, _ := conn.Query(ctx, "SELECT version_id FROM goose_db_version WHERE is_applied AND version_id > 0 ORDER BY id")
	versions, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT to_regclass('public.signatures') IS NOT NULL").Scan(&hasTable); err != nil {
		t.Fatal(err)
	}
	return versions, hasTable
}

func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	for i := range 2 {
		if err := ledger.Migrate(t.Context(), url); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	versions, hasTable := schemaState(t, url)
	if want := embeddedVersions(t); !hasTable || !slices.Equal(versions, want) {
		t.Errorf("after two runs: versions %v, signatures table %v; want %v, true", versions, hasTable, want)
	}
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	const runners = 3
	errs := make([]error, runners)
	var wg sync.WaitGroup
	for i := range runners {
		wg.Go(func() { errs[i] = ledger.Migrate(t.Context(), url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate #%d: %v", i+1, err)
		}
	}
	versions, hasTable := schemaState(t, url)
	if want := embeddedVersions(t); !hasTable || !slices.Equal(versions, want) {
		t.Errorf("after concurrent runs: versions %v, signatures table %v; want one version and the table", versions, hasTable)
	}
}

func TestURLNeverInErrors(t *testing.T) {
	const password = "hunter2-secret"
	urls := []struct {
		name, url string
	}{
		{"bad sslmode", "postgres://signer:" + password + "@db.invalid:5432/ledger?sslmode=bogus"},
		{"bad port", "postgres://signer:" + password + "@db.invalid:notaport/ledger"},
		{"bad escape", "postgres://signer:" + password + "%zz@db.invalid/ledger"},
		{"keyword/value", "host=db.invalid password=" + password + " sslmode=bogus"},
	}
	for _, tt := range urls {
		t.Run(tt.name, func(t *testing.T) {
			_, openErr := ledger.Open(t.Context(), tt.url)
			migrateErr := ledger.Migrate(t.Context(), tt.url)
			for what, err := range map[string]error{"Open": openErr, "Migrate": migrateErr} {
				if err == nil {
					t.Errorf("%s: nil error", what)
					continue
				}
				if strings.Contains(err.Error(), password) {
					t.Errorf("%s error holds the password: %v", what, err)
				}
			}
		})
	}
}

// embeddedVersions lists the migration versions shipped in migrations.FS, in order.
func embeddedVersions(t *testing.T) []int64 {
	t.Helper()
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, n := range names {
		v, err := strconv.ParseInt(strings.SplitN(n, "_", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("migration %s: %v", n, err)
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

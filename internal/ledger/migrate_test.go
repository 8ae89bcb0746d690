package ledger_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"golang.org/x/mod/sumdb/note"

	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/translog"
	"github.com/appsign/signer/migrations"
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

// TestMigrateLeanOnPopulatedLedger applies the migrations from 00110 on
// (indexes, lean leaf rows) to a ledger written under 00100, as an
// upgrade does, where the operator's hand-made build of the new hash index
// (CONCURRENTLY, as migrations/00110 advises for a large ledger) failed:
// rows written before and after stay findable by every filter whose index
// changed, and the log verifies.
func TestMigrateLeanOnPopulatedLedger(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.URL(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.UpTo(ctx, 100); err != nil {
		t.Fatal(err)
	}
	// Leaf rows as the release before 00120 wrote them: with the leaf's
	// bytes and hash (this release's Store writes the parts only).
	if _, err := db.ExecContext(ctx, `CREATE FUNCTION old_release_leaf() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			NEW.leaf := '\x01'::bytea || int4send(octet_length(NEW.kind)) || convert_to(NEW.kind, 'UTF8')
				|| int8send((extract(epoch FROM NEW.appended_at) * 1000000)::bigint)
				|| int4send(octet_length(NEW.payload)) || NEW.payload;
			NEW.leaf_hash := sha256('\x00'::bytea || NEW.leaf);
			RETURN NEW;
		END $$;
		CREATE TRIGGER old_release_leaf BEFORE INSERT ON log_leaves FOR EACH ROW EXECUTE FUNCTION old_release_leaf()`); err != nil {
		t.Fatal(err)
	}
	s, err := ledger.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := newTestKey()
	l, err := s.OpenLog(ctx, translog.Options{Origin: testOrigin, Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	record := func(version string) ledger.Entry {
		e, _, err := s.Record(ctx, entry("com.example.lean", version, "lean-"+version))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	var before []ledger.Entry
	for i := range 20 {
		before = append(before, record(fmt.Sprintf("1.%d.0", i)))
	}
	// The operator's build failed and left the index invalid (as a failed
	// CREATE INDEX CONCURRENTLY does): the migration must build it again,
	// not keep it for IF NOT EXISTS.
	if _, err := db.ExecContext(ctx, `CREATE INDEX CONCURRENTLY signatures_sha256_hash_idx ON signatures USING hash (sha256)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'signatures_sha256_hash_idx'::regclass`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `DROP TRIGGER old_release_leaf ON log_leaves`); err != nil {
		t.Fatal(err)
	}
	if err := ledger.Migrate(ctx, url); err != nil {
		t.Fatalf("Migrate over a populated ledger: %v", err)
	}
	after := record("2.0.0")

	var indexes []string
	rows, err := db.QueryContext(ctx, `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = 'signatures'::regclass AND i.indisvalid ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"signatures_sha256_id_idx", "signatures_version_id_idx"} {
		if slices.Contains(indexes, gone) {
			t.Errorf("index %s is still there: %v", gone, indexes)
		}
	}
	if !slices.Contains(indexes, "signatures_sha256_hash_idx") {
		t.Errorf("no valid signatures_sha256_hash_idx: %v", indexes)
	}

	for _, e := range append(before, after) {
		for name, f := range map[string]ledger.Filter{
			"sha256":  {SHA256: e.SHA256, Limit: 10},
			"version": {Version: e.Version, Limit: 10},
		} {
			got, err := s.List(ctx, f)
			if err != nil || len(got) != 1 || got[0].ID != e.ID {
				t.Errorf("entry %d by %s: %d entries, %v", e.ID, name, len(got), err)
			}
		}
	}
	// Leaves written before 00120 keep their bytes; later ones store
	// their parts only, and both verify.
	var full, lean int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE leaf = log_leaf(kind, payload, appended_at) AND leaf_hash IS NOT NULL),
		count(*) FILTER (WHERE leaf IS NULL AND leaf_hash IS NULL) FROM log_leaves`).Scan(&full, &lean); err != nil {
		t.Fatal(err)
	}
	if full != len(before) || lean != 1 {
		t.Errorf("%d leaves with their bytes, %d without; want %d and 1", full, lean, len(before))
	}
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, err := translog.NoteVerifier(testOrigin, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	rep := translog.Verify(l.Entries(ctx, 0, cp.Tree.N), translog.VerifyOptions{Origin: testOrigin, Verifiers: note.VerifierList(v), Checkpoint: cp.Note})
	if !rep.OK() || rep.Entries != 21 {
		t.Errorf("Verify over %d entries: %v %v", rep.Entries, rep.Problems, rep.Err)
	}
}

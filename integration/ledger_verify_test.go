package integration

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"

	"github.com/appsign/signer/internal/pgtest"
)

// ledgerFixture is a dev signer on a database the test can tamper with.
type ledgerFixture struct {
	srv  *devServer
	conn *pgx.Conn
	dir  string
}

// signed is one signature as the ledger holds it.
type signed struct{ id, index int64 }

func newLedgerFixture(t *testing.T) *ledgerFixture {
	t.Helper()
	url := pgtest.URL(t)
	f := &ledgerFixture{srv: startDev(t, "--database-url", url), dir: t.TempDir()}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.WithoutCancel(t.Context())) })
	f.conn = conn
	return f
}

// sign signs a small archive with profile and returns its entry.
func (f *ledgerFixture) sign(t *testing.T, version, profile string) signed {
	t.Helper()
	archive := filepath.Join(f.dir, version+".jar")
	if err := os.WriteFile(archive, []byte("archive "+version), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSignerctl(t, "sign", "--server", f.srv.Addr, "--app-key", "com.example.ledger", "--version", version, "--profile", profile, archive)
	var s signed
	err := f.conn.QueryRow(t.Context(), `SELECT id, log_index FROM signatures WHERE version = $1`, version).Scan(&s.id, &s.index)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var treeSizeRE = regexp.MustCompile(`(?m)^\S+\n(\d+)\n`)

// waitCheckpoint waits until a signed checkpoint covers the whole log.
func (f *ledgerFixture) waitCheckpoint(t *testing.T) int64 {
	t.Helper()
	var want int64
	if err := f.conn.QueryRow(t.Context(), `SELECT tree_size FROM log_head`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		out := mustSignerctl(t, "ledger", "checkpoint", "--server", f.srv.Addr)
		if m := treeSizeRE.FindStringSubmatch(out[strings.Index(out, "\n\n")+2:]); m != nil {
			if n, _ := strconv.ParseInt(m[1], 10, 64); n >= want {
				return n
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of %d leaves within 60s; last:\n%s", want, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tamper runs statements as a superuser would: with every trigger (the
// append-only guards and the foreign keys) disabled for the session.
func (f *ledgerFixture) tamper(t *testing.T, sql ...string) {
	t.Helper()
	ctx := t.Context()
	if _, err := f.conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	defer f.conn.Exec(context.WithoutCancel(ctx), `SET session_replication_role = DEFAULT`)
	for _, q := range sql {
		if _, err := f.conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestLedgerVerifyCatchesTampering signs through the service, checks that
// `signerctl ledger verify` passes, then changes PostgreSQL directly in
// each way a superuser could and checks that verify names the entry.
func TestLedgerVerifyCatchesTampering(t *testing.T) {
	requirePostgresBinaries(t)
	f := newLedgerFixture(t)
	var s []signed
	for i, profile := range []string{"upm", "digest-v1", "upm", "upm", "digest-v1"} {
		s = append(s, f.sign(t, fmt.Sprintf("1.0.%d", i), profile))
	}
	// Replaying a request returns its entry without a second leaf.
	before := f.waitCheckpoint(t)
	mustSignerctl(t, "sign", "--server", f.srv.Addr, "--app-key", "com.example.ledger", "--version", "1.0.0", filepath.Join(f.dir, "1.0.0.jar"))
	if after := f.waitCheckpoint(t); after != before {
		t.Errorf("a replayed signing grew the log from %d to %d leaves", before, after)
	}

	saved := filepath.Join(f.dir, "checkpoint.txt")
	out := mustSignerctl(t, "ledger", "verify", "--server", f.srv.Addr, "--checkpoint-out", saved, "--quiet")
	if !strings.Contains(out, "OK:") || !strings.Contains(out, "digest-v1 signatures verified: 2") {
		t.Fatalf("clean ledger:\n%s", out)
	}
	// The ledger key is pinned from here on.
	keyOut := mustSignerctl(t, "ledger", "checkpoint", "--server", f.srv.Addr)
	vkey := strings.TrimPrefix(strings.SplitN(keyOut, "\n", 2)[0], "ledger key: ")

	a, b := s[1], s[3]
	tests := []struct {
		name   string
		sql    []string
		undo   []string
		expect []string
	}{
		{
			name:   "update a digest",
			sql:    []string{fmt.Sprintf(`UPDATE signatures SET sha256 = sha256('forged') WHERE id = %d`, a.id)},
			undo:   []string{fmt.Sprintf(`UPDATE signatures SET sha256 = sha256('archive 1.0.1'::bytea) WHERE id = %d`, a.id)},
			expect: []string{fmt.Sprintf("leaf %d (entry %d): sha256 differ from the logged record", a.index, a.id)},
		},
		{
			name: "delete a row",
			sql: []string{`CREATE TEMP TABLE deleted AS SELECT * FROM signatures WHERE id = ` + strconv.FormatInt(b.id, 10),
				fmt.Sprintf(`DELETE FROM signatures WHERE id = %d`, b.id)},
			undo:   []string{`INSERT INTO signatures OVERRIDING SYSTEM VALUE SELECT * FROM deleted`, `DROP TABLE deleted`},
			expect: []string{fmt.Sprintf("leaf %d (entry %d): the ledger has no entry %d (deleted)", b.index, b.id, b.id)},
		},
		{
			name: "swap two rows",
			sql: []string{fmt.Sprintf(`UPDATE signatures s SET version = o.version, sha256 = o.sha256, sha512 = o.sha512, signature = o.signature,
					statement = o.statement, profile = o.profile
				FROM signatures o WHERE (s.id, o.id) IN ((%[1]d, %[2]d), (%[2]d, %[1]d))`, s[0].id, s[1].id)},
			undo: []string{fmt.Sprintf(`UPDATE signatures s SET version = o.version, sha256 = o.sha256, sha512 = o.sha512, signature = o.signature,
					statement = o.statement, profile = o.profile
				FROM signatures o WHERE (s.id, o.id) IN ((%[1]d, %[2]d), (%[2]d, %[1]d))`, s[0].id, s[1].id)},
			expect: []string{
				fmt.Sprintf("leaf %d (entry %d): version, profile, sha256, sha512, signature, statement differ", s[0].index, s[0].id),
				fmt.Sprintf("leaf %d (entry %d): version, profile, sha256, sha512, signature, statement differ", s[1].index, s[1].id),
			},
		},
		{
			name: "insert a forged row",
			sql: []string{`INSERT INTO signatures (id, app_key, version, track, archive_size, sha256, sha512, key_id, key_version,
					cert_serial, signature, caller, review_ref, idempotency_key, signed_at, log_index)
				OVERRIDING SYSTEM VALUE
				SELECT 9999, app_key, '6.6.6', track, archive_size, sha256('evil'), sha512, key_id, key_version,
					cert_serial, signature, caller, review_ref, 'forged', signed_at, 99999 FROM signatures WHERE id = ` + strconv.FormatInt(a.id, 10)},
			undo:   []string{`DELETE FROM signatures WHERE id = 9999`},
			expect: []string{"entry 9999: names leaf 99999, beyond the end of the log"},
		},
		{
			name:   "point a row at another leaf",
			sql:    []string{fmt.Sprintf(`UPDATE signatures SET log_index = 0 WHERE id = %d`, s[4].id)},
			undo:   []string{fmt.Sprintf(`UPDATE signatures SET log_index = %d WHERE id = %d`, s[4].index, s[4].id)},
			expect: []string{fmt.Sprintf("leaf %d (entry %d): the entry names leaf 0, not this one", s[4].index, s[4].id)},
		},
		{
			name:   "rewrite a leaf",
			sql:    []string{fmt.Sprintf(`UPDATE log_leaves SET payload = convert_to(replace(convert_from(payload, 'UTF8'), '1.0.2', '9.9.9'), 'UTF8') WHERE idx = %d`, s[2].index)},
			undo:   []string{fmt.Sprintf(`UPDATE log_leaves SET payload = convert_to(replace(convert_from(payload, 'UTF8'), '9.9.9', '1.0.2'), 'UTF8') WHERE idx = %d`, s[2].index)},
			expect: []string{fmt.Sprintf("leaf %d: modified", s[2].index), fmt.Sprintf("leaf %d (entry %d): version differ", s[2].index, s[2].id)},
		},
		{
			name: "delete a leaf",
			sql: []string{`CREATE TEMP TABLE deleted_leaf AS SELECT * FROM log_leaves WHERE idx = ` + strconv.FormatInt(s[2].index, 10),
				fmt.Sprintf(`DELETE FROM log_leaves WHERE idx = %d`, s[2].index)},
			undo:   []string{`INSERT INTO log_leaves SELECT * FROM deleted_leaf`, `DROP TABLE deleted_leaf`},
			expect: []string{fmt.Sprintf("leaf %d: missing", s[2].index)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.tamper(t, tt.sql...)
			r := signerctl(t, "ledger", "verify", "--server", f.srv.Addr, "--ledger-key", vkey, "--checkpoint", saved, "--quiet")
			f.tamper(t, tt.undo...)
			if r.code != 10 {
				t.Errorf("verify exit %d, want 10\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			for _, want := range tt.expect {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("verify output lacks %q:\n%s", want, r.stdout)
				}
			}
		})
	}
	// Undone, the ledger verifies again; after more signing, the saved
	// checkpoint proves the log only grew (consistency proof).
	later := f.sign(t, "2.0.0", "upm")
	f.waitCheckpoint(t)
	out = mustSignerctl(t, "ledger", "verify", "--server", f.srv.Addr, "--ledger-key", vkey, "--checkpoint", saved, "--history", "--quiet")
	if !strings.Contains(out, "OK:") {
		t.Errorf("after undoing the changes:\n%s", out)
	}
	// Inclusion proofs check with tlog against the signed root.
	out = mustSignerctl(t, "ledger", "prove", "--server", f.srv.Addr, "--ledger-key", vkey, strconv.FormatInt(later.index, 10))
	if !strings.Contains(out, fmt.Sprintf("leaf %d is in the signed tree", later.index)) || !strings.Contains(out, `"version":"2.0.0"`) {
		t.Errorf("prove:\n%s", out)
	}
	// A checkpoint signed by another key is refused.
	_, other, err := note.GenerateKey(rand.Reader, "appsign.dev/ledger")
	if err != nil {
		t.Fatal(err)
	}
	if r := signerctl(t, "ledger", "verify", "--server", f.srv.Addr, "--ledger-key", other, "--quiet"); r.code != 10 {
		t.Errorf("verify with another pinned key: exit %d, want 10\n%s%s", r.code, r.stdout, r.stderr)
	}
}

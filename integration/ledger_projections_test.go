package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// projectedTables are the tables the drill below snapshots and restores.
var projectedTables = []string{"revocations", "revocation_events", "key_versions", "vendor_certificates"}

// snapshotTables copies tables aside (before a tamper) and returns the
// statements that put them back (after it).
func snapshotTables(t *testing.T, f *ledgerFixture) []string {
	t.Helper()
	var undo []string
	for _, tbl := range projectedTables {
		f.tamper(t, fmt.Sprintf(`DROP TABLE IF EXISTS saved_%[1]s`, tbl), fmt.Sprintf(`CREATE TEMP TABLE saved_%[1]s AS SELECT * FROM %[1]s`, tbl))
		undo = append(undo, fmt.Sprintf(`DELETE FROM %s`, tbl))
	}
	for _, tbl := range projectedTables {
		undo = append(undo, fmt.Sprintf(`INSERT INTO %[1]s OVERRIDING SYSTEM VALUE SELECT * FROM saved_%[1]s`, tbl))
	}
	return undo
}

// TestLedgerVerifyRecomputesTables is issue 11's drill and its variants:
// a revocation, a key rotation and a vendor certificate go through the
// service; then a database superuser, triggers off, deletes or rewrites
// their rows. `signerctl ledger verify --checkpoint saved` must exit 10
// naming each row, and the next revocation list must not be published
// from the tampered tables.
func TestLedgerVerifyRecomputesTables(t *testing.T) {
	requirePostgresBinaries(t)
	f := newLedgerFixture(t)
	s := []signed{f.sign(t, "2.0.0", "upm"), f.sign(t, "2.0.1", "upm")}
	addr := f.srv.Addr
	mustSignerctl(t, "revoke", "signature", "--server", addr, "--ledger-entry", fmt.Sprint(s[0].id), "--reason", "malicious")
	mustSignerctl(t, "key", "rotate", "--server", addr, "dev-signing")
	key, cert := filepath.Join(f.dir, "vendor.key"), filepath.Join(f.dir, "vendor.crt")
	mustSignerctl(t, "vendor", "keygen", "--out", key)
	mustSignerctl(t, "vendor", "certify", "--server", addr, "--key", key, "--app-key", "com.example.pb", "--out-cert", cert)
	mustSignerctl(t, "revoke", "publish", "--server", addr, "--out", filepath.Join(f.dir, "list-v1.json"))
	f.waitCheckpoint(t)

	saved := filepath.Join(f.dir, "saved")
	out := mustSignerctl(t, "ledger", "verify", "--server", addr, "--checkpoint-out", saved, "--quiet")
	if !strings.Contains(out, "OK:") {
		t.Fatalf("untouched ledger:\n%s", out)
	}
	var revID, serial string
	var v1, v2 int
	if err := f.conn.QueryRow(t.Context(), `SELECT (SELECT id::text FROM revocations), (SELECT serial FROM vendor_certificates),
		(SELECT min(version) FROM key_versions WHERE name = 'dev-signing'), (SELECT max(version) FROM key_versions WHERE name = 'dev-signing')`).Scan(&revID, &serial, &v1, &v2); err != nil {
		t.Fatal(err)
	}

	sum := sha256.Sum256([]byte("archive 2.0.0"))
	revoked := hex.EncodeToString(sum[:])
	tests := []struct {
		name    string
		sql     []string
		expect  []string
		publish bool // the next list must be refused
	}{
		{
			name: "revocation deleted",
			sql:  []string{`DELETE FROM revocation_events`, `DELETE FROM revocations`},
			expect: []string{"revocations " + revID + " is missing from the database (deleted behind the service): archive " + revoked + ", reason malicious",
				"revocation_events 1 is missing from the database"},
			publish: true,
		},
		{
			name:    "revocation rewritten",
			sql:     []string{`UPDATE revocations SET reason = 'superseded', revoked_at = revoked_at + interval '30 days'`},
			expect:  []string{"revocations " + revID + ` differs from the log: reason is "superseded", the log says "malicious"; revoked_at is`},
			publish: true,
		},
		{
			name: "key state edited",
			sql: []string{fmt.Sprintf(`UPDATE key_versions SET state = 'retired', retired_at = now() WHERE name = 'dev-signing' AND version = %d`, v2),
				fmt.Sprintf(`UPDATE key_versions SET state = 'active', retired_at = NULL WHERE name = 'dev-signing' AND version = %d`, v1)},
			expect: []string{fmt.Sprintf(`key_versions dev-signing v%d differs from the log: retired_at is "", the log says "`, v1),
				fmt.Sprintf(`key_versions dev-signing v%d differs from the log: retired_at is "`, v2), `state is "active", the log says "retired"`},
		},
		{
			name:   "vendor certificate edited",
			sql:    []string{`UPDATE vendor_certificates SET app_keys = '{com.example.pb,com.globex.app}'`},
			expect: []string{"vendor_certificates " + serial + ` differs from the log: app_keys is "com.example.pb,com.globex.app", the log says "com.example.pb"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			undo := snapshotTables(t, f)
			f.tamper(t, tt.sql...)
			r := signerctl(t, "ledger", "verify", "--server", addr, "--checkpoint", saved, "--quiet")
			var pub result
			if tt.publish {
				pub = signerctl(t, "revoke", "publish", "--server", addr, "--out", filepath.Join(f.dir, "tampered.json"))
			}
			f.tamper(t, undo...)
			if r.code != exitLedgerBad {
				t.Errorf("verify exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, exitLedgerBad, r.stdout, r.stderr)
			}
			for _, want := range tt.expect {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("verify output lacks %q:\n%s", want, r.stdout)
				}
			}
			if tt.publish && (pub.code == 0 || !strings.Contains(pub.stderr, "FailedPrecondition") || !strings.Contains(pub.stderr, "revocations "+revID)) {
				t.Errorf("publishing from the tampered table: exit %d, want a FailedPrecondition naming revocations %s\n%s", pub.code, revID, pub.stderr)
			}
		})
	}
	// Put back, the tables agree with the log again.
	if out := mustSignerctl(t, "ledger", "verify", "--server", addr, "--checkpoint", saved, "--quiet"); !strings.Contains(out, "OK:") {
		t.Fatalf("restored ledger:\n%s", out)
	}
}

// TestLedgerVerifyArchives re-checks default-profile signatures over the
// auditor's archives with the keys and certificates the log records,
// chained to the trust bundle: a changed archive, an archive the ledger
// never signed and a signing key the server presents but the log does not
// record each fail verify.
func TestLedgerVerifyArchives(t *testing.T) {
	requirePostgresBinaries(t)
	f := newLedgerFixture(t)
	addr := f.srv.Addr
	archives := filepath.Join(f.dir, "archives")
	must(t, os.MkdirAll(archives, 0o755))
	var sums []string
	for _, v := range []string{"3.0.0", "3.0.1"} {
		f.sign(t, v, "upm")
		b, err := os.ReadFile(filepath.Join(f.dir, v+".jar"))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(archives, v+".jar"), b, 0o644))
		sum := sha256.Sum256(b)
		sums = append(sums, hex.EncodeToString(sum[:]))
	}
	truststore := filepath.Join(f.dir, "truststore")
	mustSignerctl(t, "bundle", "get", "--server", addr, "--out", truststore)
	f.waitCheckpoint(t)
	verify := func(extra ...string) result {
		return signerctl(t, append([]string{"ledger", "verify", "--server", addr, "--quiet"}, extra...)...)
	}

	r := verify("--archives", archives, "--trust-bundle", truststore)
	if r.code != 0 || !strings.Contains(r.stdout, "trust bundle: 2") {
		t.Fatalf("both archives: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := verify("--archives", archives); r.code == 0 || !strings.Contains(r.stderr, "--trust-bundle") {
		t.Errorf("--archives without a trust bundle: exit %d, want a usage error naming --trust-bundle\n%s", r.code, r.stderr)
	}

	// The auditor's copy of 3.0.1 changes: in a directory it matches no
	// signature; listed in a manifest by its signed digest, it no longer
	// hashes to it.
	changed := filepath.Join(archives, "3.0.1.jar")
	must(t, os.WriteFile(changed, []byte("archive 3.0.1 with a backdoor"), 0o644))
	r = verify("--archives", archives, "--trust-bundle", truststore)
	if r.code != 10 || !strings.Contains(r.stdout, "archive "+changed+" (SHA-256 ") || !strings.Contains(r.stdout, "no signature leaf covers it") {
		t.Errorf("changed archive in --archives: exit %d, want 10 naming it\n%s", r.code, r.stdout)
	}
	manifest := filepath.Join(f.dir, "SHA256SUMS")
	must(t, os.WriteFile(manifest, fmt.Appendf(nil, "%s  archives/3.0.0.jar\n%s  archives/3.0.1.jar\n", sums[0], sums[1]), 0o644))
	r = verify("--archive-manifest", manifest, "--trust-bundle", truststore)
	if r.code != 10 || !strings.Contains(r.stdout, "archive "+changed+" has SHA-256") || !strings.Contains(r.stdout, "changed since it was listed") {
		t.Errorf("changed archive in --archive-manifest: exit %d, want 10 naming it\n%s", r.code, r.stdout)
	}

	// The server's say-so is not the key: a key version swapped in the
	// database is presented by the server, and refused because no key leaf
	// records it.
	var v int
	must(t, f.conn.QueryRow(t.Context(), `SELECT version FROM key_versions WHERE name = 'dev-signing' AND state = 'active'`).Scan(&v))
	undo := snapshotTables(t, f)
	f.tamper(t, `UPDATE key_versions SET public_key = sha256('a key the log never saw') WHERE name = 'dev-signing' AND state = 'active'`)
	r = verify()
	f.tamper(t, undo...)
	if want := fmt.Sprintf("the server presents another public key for dev-signing v%d than the log records", v); r.code != 10 || !strings.Contains(r.stdout, want) {
		t.Errorf("swapped signing key: exit %d, want 10 with %q\n%s", r.code, want, r.stdout)
	}
}

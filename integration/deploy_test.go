package integration

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/dbroles"
	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/transport/transporttest"
)

const devSetupLine = "database: {dev_setup: true} # the test cluster's superuser\n"

// asRole returns dbURL connecting as role (the test cluster trusts its
// private socket, so no password).
func asRole(t *testing.T, dbURL, role string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	must(t, err)
	u.User = url.User(role)
	return u.String()
}

// keyRows lists name:role of every keystore key.
func keyRows(t *testing.T, dbURL string) []string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dbURL)
	must(t, err)
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), `SELECT name || ':' || role FROM keys ORDER BY name`)
	must(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	must(t, err)
	return out
}

// TestServeDeploymentRefusals starts `signer serve` the ways an operator
// can get wrong and an attacker can exploit, on real PostgreSQL: a
// plaintext metrics listener off loopback, a superuser or table-owner
// database role (which can switch off the append-only triggers), a first
// start that cannot complete (which must create no key); then the first
// start that can, as the least-privilege service role, creating both keys.
func TestServeDeploymentRefusals(t *testing.T) {
	e := startServe(t)
	signer, _ := binaries(t)
	if !strings.Contains(e.config, devSetupLine) {
		t.Fatal("startServe's configuration changed: update this test")
	}
	write := func(name, cfg string) string {
		p := filepath.Join(e.dir, name)
		must(t, os.WriteFile(p, []byte(cfg), 0o600))
		return p
	}
	production := strings.Replace(e.config, devSetupLine, "", 1)
	withLedgerKey := strings.Replace(production, "  archive_signing_backend: softkms\n", "  archive_signing_backend: softkms\n  ledger: ledger-checkpoints\n", 1)
	withLedgerKey += "ledger: {checkpoint_dir: " + filepath.Join(e.dir, "checkpoints") + "}\n"
	migrated := func(t *testing.T) string {
		u := pgtest.URL(t)
		if r := runEnv(t, []string{"DATABASE_URL=" + u}, signer, "migrate"); r.code != 0 {
			t.Fatalf("migrate: %d %s", r.code, r.stderr)
		}
		return u
	}

	t.Run("plaintext metrics off loopback", func(t *testing.T) {
		for _, env := range [][]string{{"SIGNER_METRICS_LISTEN=0.0.0.0:0"}, {"SIGNER_METRICS_LISTEN=:9090"}} {
			r := runEnv(t, append(env, "DATABASE_URL="+e.dbURL), signer, "serve", "--config", e.configFile)
			if r.code != 2 || !strings.Contains(r.stderr, "is not a loopback address: set metrics.tls: true") {
				t.Errorf("%v: exit %d, stderr %s", env, r.code, r.stderr)
			}
		}
		r := runEnv(t, []string{"DATABASE_URL=" + e.dbURL}, signer, "serve", "--config", e.configFile, "--metrics-listen", "10.1.2.3:9090")
		if r.code != 2 || !strings.Contains(r.stderr, "metrics.listen: 10.1.2.3:9090 is not a loopback address") {
			t.Errorf("--metrics-listen: exit %d, stderr %s", r.code, r.stderr)
		}
	})

	t.Run("superuser refused", func(t *testing.T) {
		u := migrated(t)
		r := runEnv(t, []string{"DATABASE_URL=" + u}, signer, "serve", "--config", write("prod.yaml", production))
		if r.code != 1 || !strings.Contains(r.stderr, `is a superuser: it can switch off the ledger's append-only triggers`) {
			t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
		}
		if keys := keyRows(t, u); len(keys) != 0 {
			t.Fatalf("a refused start created keys: %v", keys)
		}
	})

	t.Run("table owner refused", func(t *testing.T) {
		u := pgtest.URL(t)
		if r := runEnv(t, []string{"DATABASE_URL=" + u}, signer, "db", "roles"); r.code != 0 {
			t.Fatalf("db roles: %d %s", r.code, r.stderr)
		}
		r := runEnv(t, []string{"DATABASE_URL=" + asRole(t, u, dbroles.DefaultRoles.Migrator)}, signer, "serve", "--config", write("prod.yaml", production))
		if r.code != 1 || !strings.Contains(r.stderr, `owns the ledger's tables`) {
			t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
		}
	})

	t.Run("first start that cannot complete creates no key", func(t *testing.T) {
		u := pgtest.URL(t)
		if r := runEnv(t, []string{"DATABASE_URL=" + u}, signer, "db", "roles"); r.code != 0 {
			t.Fatalf("db roles: %d %s", r.code, r.stderr)
		}
		svc := asRole(t, u, dbroles.DefaultRoles.Service)
		r := runEnv(t, []string{"DATABASE_URL=" + svc}, signer, "serve", "--config", write("ledger.yaml", withLedgerKey))
		if r.code != 1 || !strings.Contains(r.stderr, `no key was created`) || !strings.Contains(r.stderr, `key "ledger-checkpoints" does not exist: set keys.ledger_backend`) {
			t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
		}
		if keys := keyRows(t, u); len(keys) != 0 {
			t.Fatalf("a failed first start left keys: %v", keys)
		}

		// A bad policy file is found before any key is made, too.
		bad := write("bad-policy.yaml", "version: 1\nidentities: [{id: nonsense}]\n")
		cfg := strings.Replace(withLedgerKey, "  ledger: ledger-checkpoints\n", "  ledger: ledger-checkpoints\n  ledger_backend: softkms\n", 1)
		cfg = strings.Replace(cfg, "auth: {policy_file: "+filepath.Join(e.dir, "policy.yaml")+"}", "auth: {policy_file: "+bad+"}", 1)
		if r := runEnv(t, []string{"DATABASE_URL=" + svc}, signer, "serve", "--config", write("badpolicy.yaml", cfg)); r.code == 0 || !strings.Contains(r.stderr, "policy") {
			t.Fatalf("bad policy: exit %d, stderr %s", r.code, r.stderr)
		}
		if keys := keyRows(t, u); len(keys) != 0 {
			t.Fatalf("a start refused for its policy left keys: %v", keys)
		}

		// With a backend for the ledger key, the first start makes both,
		// as the service role, and signs a first checkpoint.
		srv := startSigner(t, []string{"DATABASE_URL=" + svc}, e.dir, "serve", "--config", write("first.yaml",
			strings.Replace(withLedgerKey, "  ledger: ledger-checkpoints\n", "  ledger: ledger-checkpoints\n  ledger_backend: softkms\n", 1)))
		want := []string{"ledger-checkpoints:ledger", "marketplace-signing:archive-signing"}
		if keys := keyRows(t, u); strings.Join(keys, ",") != strings.Join(want, ",") {
			t.Fatalf("keys after the first start: %v, want %v", keys, want)
		}
		conn, err := pgx.Connect(t.Context(), u)
		must(t, err)
		defer conn.Close(context.Background())
		var checkpoints int
		must(t, conn.QueryRow(t.Context(), `SELECT count(*) FROM log_checkpoints`).Scan(&checkpoints))
		if checkpoints == 0 {
			t.Fatal("no checkpoint signed with the ledger key made at first start")
		}

		// Everything security staff and the pipeline do works with the
		// service role's privileges: a signature, a rotation (key row lock,
		// version state), a signature revocation, a published revocation list
		// (table lock), an approval requested and approved by two admins.
		carol, carolKey := transporttest.WritePair(t, e.dir, "carol", e.tlsCA.Client(t, "spiffe://appsign/security-admin/carol"))
		as := func(caller string, args ...string) string {
			t.Helper()
			var r result
			if caller == "carol" {
				r = signerctl(t, append([]string{"--tls-ca", e.caFile, "--tls-cert", carol, "--tls-key", carolKey}, args...)...)
			} else {
				r = e.as(t, caller, args...)
			}
			if r.code != 0 {
				t.Fatalf("signerctl %v as %s (service role): exit %d\n%s%s\nserver log:\n%s", args, caller, r.code, r.stdout, r.stderr, srv.stderr)
			}
			return r.stdout
		}
		archive := writeArchive(t, t.TempDir(), "app.jar", 4096, 7)
		entry := entryOf(as("pipeline", "sign", "--server", srv.Addr, "--app-key", "com.example.roles", "--version", "1.0.0", "--review-ref", "R-1", archive))
		as("security-admin", "key", "rotate", "--server", srv.Addr, "marketplace-signing")
		as("security-admin", "revoke", "signature", "--server", srv.Addr, "--ledger-entry", entry, "--reason", "malicious")
		as("security-admin", "revoke", "publish", "--server", srv.Addr, "--out", filepath.Join(t.TempDir(), "revocation.json"))
		// The request prints "approval ID" on its first line.
		fields := strings.Fields(as("security-admin", "approval", "request", "--server", srv.Addr, "--action", "rotate-ca-key", "--target", "marketplace-ca", "--reason", "drill"))
		if len(fields) < 2 || fields[0] != "approval" {
			t.Fatalf("approval request printed %v", fields)
		}
		approvalID := fields[1]
		as("carol", "approval", "approve", "--server", srv.Addr, approvalID)
		must(t, srv.Stop())
	})
}

package integration

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/dbroles"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/transport/transporttest"
)

// TestTwoPersonRuleAgainstTheDatabase plays the two-person rule's
// attackers against `signer serve` running as the least-privilege service
// role, with two security admins (bob requests, carol approves):
//
//   - the requester backdates the effective time after the approval:
//     refused, nothing revoked;
//   - one admin turns a key-compromise revocation into "superseded" by
//     moving it earlier: the reason stays key-compromise;
//   - a database superuser, triggers off, writes a made-up second admin
//     into an approval row, and the requester uses it: the service cannot
//     tell, but `signerctl ledger verify` exits 10 naming the approval and
//     the revocation it authorized, while the honest approvals pass.
func TestTwoPersonRuleAgainstTheDatabase(t *testing.T) {
	e := startServe(t)
	signer, _ := binaries(t)
	if !strings.Contains(e.config, devSetupLine) {
		t.Fatal("startServe's configuration changed: update this test")
	}
	cfg := strings.Replace(strings.Replace(e.config, devSetupLine, "", 1), "  archive_signing_backend: softkms\n",
		"  archive_signing_backend: softkms\n  ledger: ledger-checkpoints\n  ledger_backend: softkms\n", 1)
	cfg += "ledger: {checkpoint_dir: " + filepath.Join(e.dir, "two-person-checkpoints") + ", publish_interval: 1s}\n"
	cfgFile := filepath.Join(e.dir, "two-person.yaml")
	must(t, os.WriteFile(cfgFile, []byte(cfg), 0o600))
	superURL := pgtest.URL(t)
	if r := runEnv(t, []string{"DATABASE_URL=" + superURL}, signer, "db", "roles"); r.code != 0 {
		t.Fatalf("db roles: %d %s", r.code, r.stderr)
	}
	srv := startSigner(t, []string{"DATABASE_URL=" + asRole(t, superURL, dbroles.DefaultRoles.Service)}, e.dir, "serve", "--config", cfgFile)

	carol, carolKey := transporttest.WritePair(t, e.dir, "carol", e.tlsCA.Client(t, "spiffe://appsign/security-admin/carol"))
	run := func(caller string, args ...string) result {
		t.Helper()
		if caller == "carol" {
			return signerctl(t, append([]string{"--tls-ca", e.caFile, "--tls-cert", carol, "--tls-key", carolKey}, args...)...)
		}
		return e.as(t, caller, args...)
	}
	ok := func(caller string, args ...string) string {
		t.Helper()
		r := run(caller, args...)
		if r.code != 0 {
			t.Fatalf("signerctl %v as %s: exit %d\n%s%s", args, caller, r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	revokeArgs := func(fp string, from time.Time, reason string, extra ...string) []string {
		return append([]string{"revoke", "key", "--server", srv.Addr, "--fingerprint", fp,
			"--effective-from", from.Format(time.RFC3339), "--reason", reason}, extra...)
	}
	// approved has bob request and carol approve exactly the target the
	// revocation prints when it is refused for want of an approval.
	approved := func(fp string, from time.Time, reason string) string {
		t.Helper()
		target := ledger.RevokeKeyApprovalTarget(fp, from, reason)
		if r := run("security-admin", revokeArgs(fp, from, reason)...); r.code == 0 || !strings.Contains(r.stderr, target) {
			t.Fatalf("revocation without approval: exit %d, stderr %s; want the target %s", r.code, r.stderr, target)
		}
		fields := strings.Fields(ok("security-admin", "approval", "request", "--server", srv.Addr, "--action", ledger.ActionRevokeKey, "--target", target, "--reason", "drill"))
		if len(fields) < 2 || fields[0] != "approval" {
			t.Fatalf("approval request printed %v", fields)
		}
		ok("carol", "approval", "approve", "--server", srv.Addr, "--params-sha256", auth.ApprovalParamsSHA256(ledger.ActionRevokeKey, target), fields[1])
		return fields[1]
	}
	fp1, fp2, fp3 := strings.Repeat("a1", 32), strings.Repeat("b2", 32), strings.Repeat("c3", 32)

	// Honest.
	ok("security-admin", revokeArgs(fp1, at, "key-compromise", "--approval", approved(fp1, at, "key-compromise"))...)

	// Backdated after the approval.
	id := approved(fp2, at, "key-compromise")
	if r := run("security-admin", revokeArgs(fp2, at.Add(-30*24*time.Hour), "key-compromise", "--approval", id)...); r.code == 0 ||
		!strings.Contains(r.stderr, "FailedPrecondition") || !strings.Contains(r.stderr, "not for these parameters") {
		t.Fatalf("backdated revocation: exit %d, stderr %s; want FailedPrecondition", r.code, r.stderr)
	}
	if list := ok("security-admin", "revoke", "list", "--server", srv.Addr); strings.Contains(list, fp2) {
		t.Fatalf("the backdated revocation was recorded:\n%s", list)
	}

	// Reason downgrade by moving the time earlier, properly approved.
	earlier := at.Add(-time.Hour)
	ok("security-admin", revokeArgs(fp1, earlier, "superseded", "--approval", approved(fp1, earlier, "superseded"))...)
	list := ok("security-admin", "revoke", "list", "--server", srv.Addr, "--output", "json")
	if !strings.Contains(list, fp1) || strings.Contains(list, `"superseded"`) || !strings.Contains(list, `"key-compromise"`) {
		t.Fatalf("after moving earlier as superseded, want key-compromise kept:\n%s", list)
	}

	// A superuser approves as a made-up admin, triggers off.
	target3 := ledger.RevokeKeyApprovalTarget(fp3, at, "key-compromise")
	fields := strings.Fields(ok("security-admin", "approval", "request", "--server", srv.Addr, "--action", ledger.ActionRevokeKey, "--target", target3))
	forged := fields[1]
	conn, err := pgx.Connect(t.Context(), superURL)
	must(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	tx, err := conn.Begin(t.Context())
	must(t, err)
	_, err = tx.Exec(t.Context(), `SET LOCAL session_replication_role = replica`)
	must(t, err)
	_, err = tx.Exec(t.Context(), `UPDATE approvals SET approved_by = 'spiffe://appsign/security-admin/mallory', approved_at = requested_at WHERE id = $1`, forged)
	must(t, err)
	must(t, tx.Commit(t.Context()))
	ok("security-admin", revokeArgs(fp3, at, "key-compromise", "--approval", forged)...)

	// Wait for a checkpoint over everything, then verify as the auditor.
	var size int64
	must(t, conn.QueryRow(t.Context(), `SELECT tree_size FROM log_head`).Scan(&size))
	deadline := time.Now().Add(60 * time.Second)
	for {
		out := ok("auditor", "ledger", "checkpoint", "--server", srv.Addr)
		if m := treeSizeRE.FindStringSubmatch(out[strings.Index(out, "\n\n")+2:]); m != nil {
			if n, _ := strconv.ParseInt(m[1], 10, 64); n >= size {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of %d leaves within 60s; last:\n%s", size, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r := run("auditor", "ledger", "verify", "--server", srv.Addr, "--quiet")
	if r.code != 10 || !strings.Contains(r.stdout, "approval "+forged+" is used, but no approval of it is in the log") ||
		!strings.Contains(r.stdout, "of key "+fp3) {
		t.Fatalf("ledger verify after the forged approval: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "of key "+fp1) {
		t.Errorf("ledger verify flags the honest approvals:\n%s", r.stdout)
	}
}

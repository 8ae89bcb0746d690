//go:build reliability

package integration

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/pgcluster"
)

// TestReliabilityDatabaseOutage stops PostgreSQL under the signer while six
// callers sign. Calls must fail with Unavailable (not hang until their
// deadline; the p99 of how long a failure took is recorded), health must
// turn NOT_SERVING, and once the same database is started again the
// signer must serve without a restart. Callers retry their failed
// requests with the same idempotency keys; the ledger must then hold
// exactly what the clients received, each row complete and verifying, and
// `signerctl ledger verify` must pass against a checkpoint saved before
// the outage.
func TestReliabilityDatabaseOutage(t *testing.T) {
	requirePostgresBinaries(t)
	// Not t.TempDir(): its parent is private to this user, and the server
	// runs as the postgres user when the tests run as root.
	dir, err := os.MkdirTemp("", "signer-outage-")
	must(t, err)
	must(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx := t.Context()
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Fast: true})
	must(t, err)
	t.Cleanup(func() { _ = cluster.Stop(context.WithoutCancel(ctx)) })
	url, err := cluster.CreateDatabase(ctx, "signer")
	must(t, err)

	srv := startDev(t, "--database-url", url)
	conn := dialPlain(t, srv.Addr)
	client := signerv1.NewSignerServiceClient(conn)
	health := healthpb.NewHealthClient(conn)
	load := startFailoverLoad(t, []signerv1.SignerServiceClient{client}, 6, "outage")
	load.waitCount(100, time.Minute)
	if load.r.count() == 0 {
		t.Fatalf("no signature before the outage\nstderr:\n%s", srv.stderr)
	}
	audit := newAuditor(t, srv.Addr)
	saved, _ := audit.save(t, srv.Addr, url)

	stoppedAt := time.Now()
	must(t, cluster.Stop(ctx))
	waitHealth(t, health, healthpb.HealthCheckResponse_NOT_SERVING)
	// Keep it down a while under load: every caller must see failures.
	time.Sleep(3 * time.Second)
	down := time.Since(stoppedAt)

	cluster, err = pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Fast: true})
	must(t, err)
	restartedAt := time.Now()
	load.after.Store(restartedAt.UnixNano())
	if !load.waitSuccessesAfter(20, 2*time.Minute) {
		t.Fatalf("the signer did not recover after the database came back\nstderr:\n%s", srv.stderr)
	}
	load.finish()
	waitHealth(t, health, healthpb.HealthCheckResponse_SERVING)

	calls := load.log.snapshot()
	f := failures(calls)
	f.requireRetryable(t)
	if f.failed == 0 {
		t.Fatal("no call failed while the database was down")
	}
	if unknown := load.r.unknownKeys(); len(unknown) > 0 {
		t.Fatalf("%d requests never succeeded, e.g. %s", len(unknown), unknown[0])
	}
	var firstOK time.Time
	for _, c := range calls {
		if c.code == 0 && c.start.After(restartedAt) && (firstOK.IsZero() || c.end.Before(firstOK)) {
			firstOK = c.end
		}
	}
	checkLedger(t, url, load.r)
	checkLogIndexes(t, url)
	audit.verify(t, srv.Addr, url, saved)
	writeResults(t, "database-outage.txt", []string{
		"setup: signer dev on one PostgreSQL, 6 callers retrying with their idempotency keys every 50 ms; pg_ctl stop -m fast under load, started again after NOT_SERVING + 3 s",
		fmt.Sprintf("database down for %v; restart to first successful signature: %v", down.Round(time.Millisecond), firstOK.Sub(restartedAt).Round(time.Millisecond)),
		fmt.Sprintf("calls: %d; %s", len(calls), f),
		fmt.Sprintf("signatures received: %d, all in the ledger, one entry per key; ledger verify OK", load.r.count()),
	})
}

// waitHealth polls the overall health status until it is want (bounded:
// the signer re-checks its dependencies every 5 s).
func waitHealth(t *testing.T, c healthpb.HealthClient, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	var got healthpb.HealthCheckResponse_ServingStatus
	for range 60 {
		resp, err := c.Check(t.Context(), &healthpb.HealthCheckRequest{})
		if err == nil {
			if got = resp.GetStatus(); got == want {
				return
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("health stayed %v, want %v", got, want)
}

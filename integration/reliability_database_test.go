//go:build reliability

package integration

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/pgcluster"
)

// TestReliabilityDatabaseOutage stops PostgreSQL under the signer. Calls
// must fail with Unavailable (not hang until their deadline), health must
// turn NOT_SERVING, and once the same database is started again the
// signer must serve without a restart. Requests that failed are retried
// with their idempotency keys; the ledger must then hold exactly what the
// clients received, each row complete and verifying, and `signerctl
// ledger verify` must pass against a checkpoint saved before the outage.
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
	r := newReceipts()
	for i := range 50 {
		if err := r.sign(ctx, client, fmt.Sprintf("before-%d", i)); err != nil {
			t.Fatalf("sign before the outage: %v", err)
		}
	}
	audit := newAuditor(t, srv.Addr)
	saved, _ := audit.save(t, srv.Addr, url)

	must(t, cluster.Stop(ctx))
	for i := range 20 {
		// A generous deadline: failing fast means failing with
		// Unavailable well before it, never DeadlineExceeded.
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := r.sign(callCtx, client, fmt.Sprintf("during-%d", i))
		cancel()
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("sign with the database down: got %v, want Unavailable", err)
		}
	}
	waitHealth(t, health, healthpb.HealthCheckResponse_NOT_SERVING)

	cluster, err = pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Fast: true})
	must(t, err)
	recovered := false
	for i := 0; i < 120 && !recovered; i++ {
		recovered = r.sign(ctx, client, "during-0") == nil
		if !recovered {
			time.Sleep(500 * time.Millisecond)
		}
	}
	if !recovered {
		t.Fatalf("the signer did not recover after the database came back\nstderr:\n%s", srv.stderr)
	}
	waitHealth(t, health, healthpb.HealthCheckResponse_SERVING)
	for _, idem := range r.unknownKeys() {
		if err := r.sign(ctx, client, idem); err != nil {
			t.Fatalf("retry of %s after recovery: %v", idem, err)
		}
	}
	for i := range 50 {
		if err := r.sign(ctx, client, fmt.Sprintf("after-%d", i)); err != nil {
			t.Fatalf("sign after recovery: %v", err)
		}
	}
	checkLedger(t, url, r)
	checkLogIndexes(t, url)
	audit.verify(t, srv.Addr, url, saved)
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

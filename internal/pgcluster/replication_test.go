package pgcluster_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/pgcluster"
)

// TestSynchronousStandbyFailover starts a primary with a synchronous
// standby, checks that PostgreSQL reports the standby as synchronous and
// that a committed row is on it, kills the primary with SIGKILL, promotes
// the standby and checks that a multi-host URL with
// target_session_attrs=read-write now reaches it and it accepts writes.
func TestSynchronousStandbyFailover(t *testing.T) {
	requireBinaries(t)
	t.Parallel()
	ctx := t.Context()
	parent := tmpDir(t)
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	primary, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(parent, "p"), Fast: true})
	if err != nil {
		t.Fatalf("Start primary: %v", err)
	}
	t.Cleanup(func() { primary.Stop(context.WithoutCancel(ctx)) })
	url, err := primary.CreateDatabase(ctx, "ha")
	if err != nil {
		t.Fatal(err)
	}
	standby, err := primary.StartStandby(ctx, "s1", pgcluster.Options{Dir: filepath.Join(parent, "s"), Fast: true})
	if err != nil {
		t.Fatalf("StartStandby: %v", err)
	}
	t.Cleanup(func() { standby.Stop(context.WithoutCancel(ctx)) })
	// Named synchronous only once it streams, as an HA manager does: named
	// before, every commit would wait for a standby that is not there.
	if err := primary.Reconfigure(ctx, map[string]string{
		"synchronous_standby_names": "FIRST 1 (s1)",
		"synchronous_commit":        "remote_apply",
	}); err != nil {
		t.Fatalf("Reconfigure: %v", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := primary.WaitStandby(waitCtx, "s1", "sync"); err != nil {
		t.Fatal(err)
	}

	if got := queryString(t, url, "SELECT application_name || ' ' || sync_state FROM pg_stat_replication"); got != "s1 sync" {
		t.Fatalf("pg_stat_replication: %q, want s1 sync", got)
	}
	execSQL(t, url, "CREATE TABLE acked AS SELECT 'committed before the crash'::text AS v")
	standbyURL := standby.URL("ha")
	// remote_apply: the commit returned only once the standby applied it.
	if got := queryString(t, standbyURL, "SELECT v FROM acked"); got != "committed before the crash" {
		t.Fatalf("standby has %q", got)
	}
	if got := queryString(t, standbyURL, "SELECT pg_is_in_recovery()::text"); got != "true" {
		t.Fatalf("standby in recovery: %s", got)
	}

	multi := pgcluster.MultiHostURL("ha", primary, standby)
	if err := primary.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	// With the primary gone and the standby still read-only, no host
	// accepts writes: the connection is refused, not silently read-only.
	if conn, err := pgx.Connect(ctx, multi); err == nil {
		conn.Close(ctx)
		t.Fatal("connected read-write with no primary")
	}
	if err := standby.Promote(ctx); err != nil {
		t.Fatalf("Promote: %v", err)
	}
	execSQL(t, multi, "INSERT INTO acked VALUES ('after the failover')")
	if got := queryString(t, multi, "SELECT string_agg(v, ', ' ORDER BY v) FROM acked"); got != "after the failover, committed before the crash" {
		t.Fatalf("after failover: %q", got)
	}
	if got := queryString(t, multi, "SELECT pg_is_in_recovery()::text"); got != "false" {
		t.Fatalf("promoted standby in recovery: %s", got)
	}
	// The killed primary's directory is still removed by Stop.
	if err := primary.Stop(ctx); err != nil {
		t.Fatalf("Stop after Kill: %v", err)
	}
}

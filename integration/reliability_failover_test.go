//go:build reliability

package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/pgcluster"
)

// haCluster is a PostgreSQL primary with one streaming standby, named s1,
// and the multi-host URL the signers use.
type haCluster struct {
	primary, standby *pgcluster.Cluster
	url              string
}

// startHA starts a primary and a standby streaming from it. synchronous
// names the standby in synchronous_standby_names (commits wait until it
// has flushed them, synchronous_commit = on); otherwise it is asynchronous.
// fsync is off on both (test speed): a killed process loses nothing the OS
// holds, which is the fault these tests make.
func startHA(t *testing.T, synchronous bool) *haCluster {
	t.Helper()
	requirePostgresBinaries(t)
	ctx := t.Context()
	primary, err := pgcluster.Start(ctx, pgcluster.Options{Fast: true, Log: slog.New(slog.NewTextHandler(t.Output(), nil))})
	must(t, err)
	t.Cleanup(func() { _ = primary.Stop(context.WithoutCancel(ctx)) })
	_, err = primary.CreateDatabase(ctx, "signer")
	must(t, err)
	standby, err := primary.StartStandby(ctx, "s1", pgcluster.Options{Fast: true, Log: slog.New(slog.NewTextHandler(t.Output(), nil))})
	must(t, err)
	t.Cleanup(func() { _ = standby.Stop(context.WithoutCancel(ctx)) })
	settings, state := map[string]string{"synchronous_commit": "on"}, "async"
	if synchronous {
		settings["synchronous_standby_names"], state = "FIRST 1 (s1)", "sync"
	}
	must(t, primary.Reconfigure(ctx, settings))
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	must(t, primary.WaitStandby(wctx, "s1", state))
	return &haCluster{primary: primary, standby: standby, url: pgcluster.MultiHostURL("signer", primary, standby)}
}

// failoverLoad is several callers signing through several replicas; each
// retries a failed request with its idempotency key until it succeeds, as
// the review pipeline does.
type failoverLoad struct {
	t        *testing.T
	clients  []signerv1.SignerServiceClient
	r        *receipts
	log      callLog
	stop     atomic.Bool
	wg       sync.WaitGroup
	after    atomic.Int64 // when set (unix nanos), successes of calls started after it are counted per caller
	okAfter  []atomic.Int64
	giveUpAt time.Duration
}

func startFailoverLoad(t *testing.T, clients []signerv1.SignerServiceClient, callers int, prefix string) *failoverLoad {
	l := &failoverLoad{t: t, clients: clients, r: newReceipts(), okAfter: make([]atomic.Int64, callers), giveUpAt: 3 * time.Minute}
	for w := range callers {
		client := clients[w%len(clients)]
		l.wg.Go(func() {
			for i := 0; !l.stop.Load(); i++ {
				l.signUntilDone(w, client, fmt.Sprintf("%s-w%d-%d", prefix, w, i))
			}
		})
	}
	return l
}

// signUntilDone signs idem, retrying with the same key while the code is
// retryable, for at most giveUpAt.
func (l *failoverLoad) signUntilDone(w int, client signerv1.SignerServiceClient, idem string) {
	began := time.Now()
	for {
		start := time.Now()
		ctx, cancel := context.WithTimeout(l.t.Context(), time.Minute)
		resp, err := signOnce(ctx, client, archiveFor(idem), idem)
		cancel()
		end := time.Now()
		l.r.add(idem, resp, err)
		c := call{caller: w, idem: idem, start: start, end: end, code: codeOf(err), replayed: resp.GetReplayed()}
		l.log.add(c)
		if err == nil {
			if after := l.after.Load(); after != 0 && start.UnixNano() > after {
				l.okAfter[w].Add(1)
			}
			return
		}
		if !retryable(c.code) || time.Since(began) > l.giveUpAt || l.t.Context().Err() != nil {
			return // reported by the test from the call log and the receipts
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitSuccessesAfter waits until every caller has n successful calls
// started after mark was set.
func (l *failoverLoad) waitSuccessesAfter(n int64, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		done := true
		for i := range l.okAfter {
			done = done && l.okAfter[i].Load() >= n
		}
		if done {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func (l *failoverLoad) waitCount(n int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for l.r.count() < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

func (l *failoverLoad) finish() {
	l.stop.Store(true)
	l.wg.Wait()
}

// TestReliabilityFailoverSynchronousStandby loses the database primary
// under load and fails over to its synchronous standby, as an HA manager
// (Patroni, CloudNativePG, a managed multi-AZ database) does: three signer
// replicas on a multi-host URL (target_session_attrs=read-write), six
// callers signing through them, an auditor saving a checkpoint, then
// SIGKILL of every PostgreSQL process of the primary and pg_ctl promote of
// the standby.
//
// After it: every call that failed meanwhile failed with Unavailable, and
// its retry with the same idempotency key gave one entry; every signature
// any caller received is in the new primary's ledger and log; the log has
// no gap, fork or duplicate index; `signerctl ledger verify` passes
// against the checkpoint saved before the failover; and every replica
// serves again without a restart. The time from the kill to the first
// successful signature, and the failed calls, are the test's figures.
func TestReliabilityFailoverSynchronousStandby(t *testing.T) {
	ha := startHA(t, true)
	dataDir := t.TempDir()
	var (
		servers []*devServer
		clients []signerv1.SignerServiceClient
		health  []healthpb.HealthClient
	)
	metricsURL := "http://" + freeLoopbackAddr(t) + "/metrics"
	for i := range 3 {
		args := []string{"--database-url", ha.url, "--data-dir", dataDir}
		if i == 0 {
			args = append(args, "--metrics-listen", strings.TrimSuffix(strings.TrimPrefix(metricsURL, "http://"), "/metrics"))
		}
		srv := startDev(t, args...)
		conn := dialPlain(t, srv.Addr)
		servers = append(servers, srv)
		clients = append(clients, signerv1.NewSignerServiceClient(conn))
		health = append(health, healthpb.NewHealthClient(conn))
	}
	load := startFailoverLoad(t, clients, 6, "ha")
	load.waitCount(200, time.Minute)
	if load.r.count() == 0 {
		t.Fatalf("no signature before the failover\nstderr:\n%s", servers[0].stderr)
	}
	audit := newAuditor(t, servers[0].Addr)
	saved, savedSize := audit.save(t, servers[0].Addr, ha.url)
	// Kill with calls in flight, some of them committing.
	load.waitCount(load.r.count()+100, time.Minute)

	connectsBefore := scrape(t, metricsURL, "signer_db_pool_connects_total")
	killedAt := time.Now()
	must(t, ha.primary.Kill())
	// Calls started from here on cannot have reached the old primary:
	// Kill returns once its postmaster is gone.
	deadAt := time.Now()
	load.after.Store(deadAt.UnixNano())
	must(t, ha.standby.Promote(t.Context()))
	promoted := time.Since(killedAt)

	if !load.waitSuccessesAfter(20, 3*time.Minute) {
		t.Fatalf("callers did not get 20 signatures each within 3 minutes of the failover\nreplica 0 stderr:\n%s", servers[0].stderr)
	}
	load.finish()

	calls := load.log.snapshot()
	f := failures(calls)
	f.requireRetryable(t)
	if t.Failed() {
		for i, srv := range servers {
			for line := range strings.Lines(srv.stderr.String()) {
				if strings.Contains(line, `"code":"Internal"`) || strings.Contains(line, "panic") {
					t.Logf("replica %d: %s", i, strings.TrimSpace(line))
				}
			}
		}
	}
	if unknown := load.r.unknownKeys(); len(unknown) > 0 {
		t.Fatalf("%d requests never succeeded, e.g. %s", len(unknown), unknown[0])
	}
	var firstOK time.Time
	replayedAfterFailure, failedKeys := 0, map[string]bool{}
	for _, c := range calls {
		if c.code != codes.OK {
			failedKeys[c.idem] = true
			continue
		}
		if c.start.After(deadAt) && (firstOK.IsZero() || c.end.Before(firstOK)) {
			firstOK = c.end
		}
		if failedKeys[c.idem] && c.replayed {
			replayedAfterFailure++
		}
	}
	// Every replica recovered by itself: it answers health SERVING and
	// signs, with no restart.
	for i, h := range health {
		waitHealth(t, h, healthpb.HealthCheckResponse_SERVING)
		if err := load.r.sign(t.Context(), clients[i], fmt.Sprintf("ha-after-replica-%d", i)); err != nil {
			t.Fatalf("replica %d after the failover: %v\nstderr:\n%s", i, err, servers[i].stderr)
		}
	}

	// The pool really reconnected: the connections to the dead primary
	// were dropped and new ones opened to the promoted standby.
	connectsAfter := scrape(t, metricsURL, "signer_db_pool_connects_total")
	if connectsAfter <= connectsBefore {
		t.Fatalf("replica 0 opened no new database connection after the failover (%v before, %v after)", connectsBefore, connectsAfter)
	}
	checkLedger(t, ha.url, load.r)
	checkLogIndexes(t, ha.url)
	out := audit.verify(t, servers[1].Addr, ha.url, saved)

	writeResults(t, "failover-sync.txt", []string{
		fmt.Sprintf("setup: PostgreSQL primary + synchronous standby (synchronous_standby_names = 'FIRST 1 (s1)', synchronous_commit = on), 3 signer replicas (multi-host URL, target_session_attrs=read-write), 6 callers, %d CPUs", runtime.NumCPU()),
		fmt.Sprintf("checkpoint saved before the failover: tree size %d", savedSize),
		fmt.Sprintf("kill -9 of the primary to promoted standby (pg_ctl promote -w): %v", promoted.Round(time.Millisecond)),
		fmt.Sprintf("kill -9 of the primary to the first successful signature: %v", firstOK.Sub(killedAt).Round(time.Millisecond)),
		fmt.Sprintf("calls: %d in all; %s", len(calls), f),
		fmt.Sprintf("retries of failed keys answered replayed (committed before the kill, acknowledged after): %d of %d failed keys", replayedAfterFailure, len(failedKeys)),
		fmt.Sprintf("signatures received: %d, all in the new primary's ledger and log, one entry per idempotency key", load.r.count()),
		fmt.Sprintf("replica 0's pool: %v connections opened before the kill, %v after recovery (no restart)", connectsBefore, connectsAfter),
		"ledger verify against the saved checkpoint: " + firstLine(out, "OK:"),
	})
}

// TestReliabilityFailoverAsynchronousStandbyLosesSignatures shows the trap
// of an asynchronous standby: the same failover as
// TestReliabilityFailoverSynchronousStandby, but the standby was behind
// (its stream cut, as a slow or partitioned network does) when the primary
// died. Signatures the callers hold are then missing from the new
// primary's ledger, and the log continues at indexes the lost entries held:
// a fork. The service must notice and say so, never paper over it: it
// stops signing checkpoints (signer_ledger_checkpoint_refused{reason=
// "diverged"} = 1, health NOT_SERVING) because the checkpoint it published
// outside the database is not contained in the new log, the published
// checkpoint is left as it was, and an auditor's `signerctl ledger verify`
// against a checkpoint saved before the failover exits 10.
func TestReliabilityFailoverAsynchronousStandbyLosesSignatures(t *testing.T) {
	ha := startHA(t, false)
	dataDir := t.TempDir()
	var (
		servers []*devServer
		clients []signerv1.SignerServiceClient
		health  []healthpb.HealthClient
		metrics []string
	)
	for range 3 {
		maddr := freeLoopbackAddr(t)
		srv := startDev(t, "--database-url", ha.url, "--data-dir", dataDir, "--metrics-listen", maddr)
		conn := dialPlain(t, srv.Addr)
		servers = append(servers, srv)
		clients = append(clients, signerv1.NewSignerServiceClient(conn))
		health = append(health, healthpb.NewHealthClient(conn))
		metrics = append(metrics, "http://"+maddr+"/metrics")
	}
	load := startFailoverLoad(t, clients, 6, "async")
	load.waitCount(200, time.Minute)
	audit := newAuditor(t, servers[0].Addr)

	// The standby falls behind: its WAL stream is cut, as a slow or
	// partitioned network would leave it, while the primary keeps
	// committing (asynchronous: commits do not wait for it).
	standbyURL := ha.standby.URL("signer")
	execOn(t, standbyURL, `ALTER SYSTEM SET primary_conninfo = ''`)
	execOn(t, standbyURL, `SELECT pg_reload_conf()`)
	waitNoStandby(t, ha.primary.URL("postgres"))
	standbySize := logSize(t, standbyURL)
	received := load.r.count()
	load.waitCount(received+150, time.Minute)
	// A checkpoint covering entries the standby never got is published
	// outside the database, and saved by the auditor.
	saved, savedSize := audit.save(t, servers[0].Addr, ha.url)
	if savedSize <= standbySize {
		t.Fatalf("saved checkpoint of %d leaves does not reach past the standby's %d", savedSize, standbySize)
	}

	killedAt := time.Now()
	must(t, ha.primary.Kill())
	published := filepath.Join(dataDir, "published-checkpoints", "latest")
	publishedBefore, err := os.ReadFile(published)
	must(t, err)
	must(t, ha.standby.Promote(t.Context()))
	load.after.Store(time.Now().UnixNano())
	// The replicas keep signing on the new primary; the alarm must rise.
	if !load.waitSuccessesAfter(10, 3*time.Minute) {
		t.Fatalf("no signatures after the failover\nstderr:\n%s", servers[0].stderr)
	}
	for i := range servers {
		waitMetric(t, metrics[i], `signer_ledger_checkpoint_refused{reason="diverged"}`, func(v float64) bool { return v == 1 })
		waitHealth(t, health[i], healthpb.HealthCheckResponse_NOT_SERVING)
	}
	load.finish()

	// What was lost: signatures callers received that the new primary's
	// ledger does not hold (or holds as another request's entry).
	rows := readLedger(t, ha.url)
	lost := 0
	load.r.mu.Lock()
	for idem, rc := range load.r.got {
		if row, ok := rows[idem]; !ok || row.id != rc.entryID || !bytes.Equal(row.signature, rc.sig) {
			lost++
		}
	}
	load.r.mu.Unlock()
	if lost == 0 {
		t.Fatal("no signature lost although the standby was cut off: the test did not make the trap")
	}
	// Nothing papered over: the published checkpoint is not replaced by a
	// checkpoint of the new, forked log.
	publishedAfter, err := os.ReadFile(published)
	must(t, err)
	if !bytes.Equal(publishedBefore, publishedAfter) {
		t.Fatalf("the published checkpoint changed after the failover:\nbefore:\n%s\nafter:\n%s", publishedBefore, publishedAfter)
	}
	r := audit.runVerify(t, servers[1].Addr, saved)
	if r.code != 10 {
		t.Fatalf("ledger verify against the checkpoint saved before the failover: exit %d, want 10\n%s%s", r.code, r.stdout, r.stderr)
	}
	writeResults(t, "failover-async.txt", []string{
		"setup: PostgreSQL primary + asynchronous standby (no synchronous_standby_names), WAL stream cut before the kill; 3 signer replicas, 6 callers",
		fmt.Sprintf("standby's log when cut off: %d leaves; checkpoint published and saved before the kill: %d leaves", standbySize, savedSize),
		fmt.Sprintf("signatures callers received: %d; missing from the new primary's ledger: %d", load.r.count(), lost),
		fmt.Sprintf("detected: signer_ledger_checkpoint_refused{reason=\"diverged\"} = 1 and health NOT_SERVING on all 3 replicas, %v after the kill", time.Since(killedAt).Round(time.Second)),
		"ledger verify against the saved checkpoint: exit 10: " + firstLine(r.stdout, "FAILED"),
	})
}

func execOn(t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	must(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// waitNoStandby waits until the primary has no standby connected.
func waitNoStandby(t *testing.T, url string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	must(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	for range 600 {
		var n int
		must(t, conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_replication`).Scan(&n))
		if n == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the standby is still streaming 30s after its primary_conninfo was cleared")
}

// scrape returns the value of the sample named series (name{labels} as
// exposed) at a Prometheus endpoint.
func scrape(t *testing.T, url, series string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	must(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must(t, err)
	for line := range strings.Lines(string(body)) {
		if rest, found := strings.CutPrefix(line, series+" "); found {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			must(t, err)
			return v
		}
	}
	t.Fatalf("%s not exposed at %s", series, url)
	return 0
}

// waitMetric polls a Prometheus endpoint until the sample named series
// (name{labels} exactly as exposed) has a value ok accepts.
func waitMetric(t *testing.T, url, series string, ok func(float64) bool) {
	t.Helper()
	var last string
	for range 120 {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for line := range strings.Lines(string(body)) {
				if rest, found := strings.CutPrefix(line, series+" "); found {
					last = strings.TrimSpace(rest)
					if v, err := strconv.ParseFloat(last, 64); err == nil && ok(v) {
						return
					}
				}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s stayed %q at %s", series, last, url)
}

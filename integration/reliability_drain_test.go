//go:build reliability

package integration

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/server"
)

// openUpload starts a SignArchive call for archiveFor(idem) with request id
// rid and sends its metadata and the first half of the archive; finish
// sends the rest and returns the answer.
func openUpload(t *testing.T, c signerv1.SignerServiceClient, idem, rid string) (finish func() (*signerv1.SignArchiveResponse, error)) {
	t.Helper()
	archive := archiveFor(idem)
	sum := sha256.Sum256(archive)
	ctx := metadata.AppendToOutgoingContext(t.Context(), server.RequestIDHeader, rid)
	stream, err := c.SignArchive(ctx)
	must(t, err)
	must(t, stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Metadata{Metadata: &signerv1.SignArchiveMetadata{
		AppKey: "com.example.rotation", Version: "1.0.0", Track: signerv1.Track_TRACK_MARKETPLACE,
		ReviewRef: "load", IdempotencyKey: idem, ExpectedSha256: sum[:],
	}}}))
	half := len(archive) / 2
	must(t, stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Chunk{Chunk: archive[:half]}}))
	return func() (*signerv1.SignArchiveResponse, error) {
		// A failed Send means the call ended; CloseAndRecv returns why.
		_ = stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Chunk{Chunk: archive[half:]}})
		return stream.CloseAndRecv()
	}
}

// TestReliabilityGracefulShutdownUnderLoad sends SIGTERM to a signer while
// callers sign and two uploads are half way through. The signer must
// report NOT_SERVING at once and keep answering health, refuse new calls
// with Unavailable (retryable), let the upload that completes finish and
// log it, cancel the one that stalls when the grace period (--shutdown-grace
// 4s) ends, and exit cleanly. The refused and cancelled requests are then
// retried with their idempotency keys on a new signer; the ledger holds one
// entry per key, each received, and `signerctl ledger verify` passes
// against a checkpoint saved before the shutdown.
func TestReliabilityGracefulShutdownUnderLoad(t *testing.T) {
	url := pgtest.URL(t)
	dataDir := t.TempDir()
	maddr := freeLoopbackAddr(t)
	srv := startDev(t, "--database-url", url, "--data-dir", dataDir, "--shutdown-grace", "4s", "--metrics-listen", maddr)
	conn := dialPlain(t, srv.Addr)
	client := signerv1.NewSignerServiceClient(conn)
	health := healthpb.NewHealthClient(conn)
	r := newReceipts()
	must(t, r.sign(t.Context(), client, "drain-first"))
	audit := newAuditor(t, srv.Addr)
	saved, _ := audit.save(t, srv.Addr, url)

	// Two uploads in flight: one will complete during the drain, one
	// stalls past the grace period.
	finishA := openUpload(t, client, "drain-inflight-a", "drain-inflight-a")
	finishB := openUpload(t, client, "drain-inflight-b", "drain-inflight-b")
	waitMetric(t, "http://"+maddr+"/metrics", "signer_grpc_requests_in_flight", func(v float64) bool { return v >= 2 })

	var (
		log     callLog
		wg      sync.WaitGroup
		stopped = make(chan struct{})
	)
	for w := range 6 {
		wg.Go(func() {
			for i := 0; ; i++ {
				idem := fmt.Sprintf("drain-w%d-%d", w, i)
				start := time.Now()
				err := r.sign(t.Context(), client, idem)
				log.add(call{caller: w, idem: idem, start: start, end: time.Now(), code: codeOf(err)})
				select {
				case <-stopped:
					if err != nil {
						return
					}
				default:
				}
			}
		})
	}
	for r.count() < 200 {
		time.Sleep(20 * time.Millisecond)
	}

	termAt := time.Now()
	must(t, srv.cmd.Process.Signal(syscall.SIGTERM))
	waitHealth(t, health, healthpb.HealthCheckResponse_NOT_SERVING)
	close(stopped)
	wg.Wait()
	if err := r.sign(t.Context(), client, "drain-new-call"); codeOf(err) != codes.Unavailable {
		t.Fatalf("a new call while draining: %v, want Unavailable", err)
	}
	respA, errA := finishA()
	r.add("drain-inflight-a", respA, errA)
	if errA != nil {
		t.Fatalf("the upload in flight at SIGTERM failed: %v\nstderr:\n%s", errA, srv.stderr)
	}
	var exitErr error
	select {
	case exitErr = <-srv.done:
	case <-time.After(time.Minute):
		t.Fatalf("no exit within a minute of SIGTERM (grace 4s)\nstderr:\n%s", srv.stderr)
	}
	exited := time.Since(termAt)
	if exitErr != nil {
		t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", exitErr, srv.stderr)
	}
	// The stalled upload was cancelled by the shutdown, with a code its
	// client retries on.
	respB, errB := finishB()
	r.add("drain-inflight-b", respB, errB)
	if !retryable(codeOf(errB)) {
		t.Fatalf("the upload stalled past the grace period: %v, want a retryable code", errB)
	}
	stderr := srv.stderr.String()
	if !loggedCall(stderr, "drain-inflight-a", "OK") {
		t.Fatalf("the upload that finished during the drain is not logged with code OK:\n%s", stderr)
	}

	calls := log.snapshot()
	f := failures(calls)
	f.requireRetryable(t)

	restarted := startDev(t, "--database-url", url, "--data-dir", dataDir)
	client = signerv1.NewSignerServiceClient(dialPlain(t, restarted.Addr))
	for _, idem := range r.unknownKeys() {
		if err := r.sign(t.Context(), client, idem); err != nil {
			t.Fatalf("retry of %s after the restart: %v", idem, err)
		}
	}
	checkLedger(t, url, r)
	checkLogIndexes(t, url)
	audit.verify(t, restarted.Addr, url, saved)
	writeResults(t, "drain.txt", []string{
		"setup: signer dev --shutdown-grace 4s, 6 callers, 2 uploads half sent at SIGTERM (one completes, one stalls)",
		fmt.Sprintf("SIGTERM to exit: %v (the stalled upload holds the drain until the grace period ends)", exited.Round(time.Millisecond)),
		fmt.Sprintf("calls: %d; %s", len(calls), f),
		fmt.Sprintf("signatures received: %d, all in the ledger after the retries; ledger verify OK", r.count()),
	})
}

// loggedCall reports whether the JSON log has the "rpc" line of request
// rid with code.
func loggedCall(stderr, rid, code string) bool {
	for line := range strings.Lines(stderr) {
		if strings.Contains(line, `"msg":"rpc"`) && strings.Contains(line, `"request_id":"`+rid+`"`) && strings.Contains(line, `"code":"`+code+`"`) {
			return true
		}
	}
	return false
}

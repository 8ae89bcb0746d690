//go:build reliability

package integration

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/pgtest"
)

// TestReliabilityKillUnderLoad kills the signer with SIGKILL while 8
// clients sign, restarts it on the same database and data directory, and
// retries every request that got no answer with its idempotency key.
// Every signature any client received must be in the ledger, and every
// ledger row must have reached a client once the retries are done, and
// `signerctl ledger verify` must pass against a checkpoint saved before the
// kill.
func TestReliabilityKillUnderLoad(t *testing.T) {
	url := pgtest.URL(t)
	dataDir := t.TempDir()
	srv := startDev(t, "--database-url", url, "--data-dir", dataDir)
	client := signerv1.NewSignerServiceClient(dialPlain(t, srv.Addr))

	r := newReceipts()
	// An auditor saves a checkpoint before the fault (after a first
	// signature, so it is not the empty tree).
	must(t, r.sign(t.Context(), client, "kill-first"))
	audit := newAuditor(t, srv.Addr)
	saved, _ := audit.save(t, srv.Addr, url)
	var killed atomic.Bool
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			// Bounded: at most 2000 requests per client; a client stops
			// after its first failure once the signer has been killed.
			for i := range 2000 {
				err := r.sign(t.Context(), client, fmt.Sprintf("kill-w%d-%d", w, i))
				if err != nil && killed.Load() {
					return
				}
			}
		})
	}
	for i := 0; i < 600 && r.count() < 300; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if r.count() == 0 {
		t.Fatalf("no signature before the kill\nstderr:\n%s", srv.stderr)
	}
	killed.Store(true)
	must(t, srv.cmd.Process.Kill())
	<-srv.done
	wg.Wait()
	before := r.count()
	t.Logf("killed after %d signatures; %d requests without an answer", before, len(r.unknownKeys()))

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
	t.Logf("%d signatures received, all in the ledger, no orphan rows", r.count())
}

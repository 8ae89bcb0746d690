//go:build reliability

package integration

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/pgtest"
)

// TestReliabilityReplicasOneLedger runs three signers on one database and
// spreads concurrent load across them. Every tenth request is sent to two
// replicas at once with the same idempotency key, as a client retrying
// through a load balancer would: both must get the same entry. The ledger
// must end with exactly one row per idempotency key, each one received,
// and `signerctl ledger verify` must pass against a checkpoint saved first.
func TestReliabilityReplicasOneLedger(t *testing.T) {
	url := pgtest.URL(t)
	dataDir := t.TempDir()
	var clients []signerv1.SignerServiceClient
	var addrs []string
	for range 3 {
		srv := startDev(t, "--database-url", url, "--data-dir", dataDir)
		clients = append(clients, signerv1.NewSignerServiceClient(dialPlain(t, srv.Addr)))
		addrs = append(addrs, srv.Addr)
	}
	r := newReceipts()
	must(t, r.sign(t.Context(), clients[0], "replica-first"))
	audit := newAuditor(t, addrs[0])
	saved, _ := audit.save(t, addrs[0], url)
	var (
		mu       sync.Mutex
		failures []error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, err)
	}
	for w := range 12 {
		wg.Go(func() {
			for i := range 150 {
				idem := fmt.Sprintf("replica-w%d-%d", w, i)
				a, b := clients[(w+i)%3], clients[(w+i+1)%3]
				if i%10 != 0 {
					if err := r.sign(t.Context(), a, idem); err != nil {
						fail(err)
					}
					continue
				}
				var ra, rb *signerv1.SignArchiveResponse
				var ea, eb error
				var pair sync.WaitGroup
				pair.Go(func() { ra, ea = signOnce(t.Context(), a, archiveFor(idem), idem) })
				pair.Go(func() { rb, eb = signOnce(t.Context(), b, archiveFor(idem), idem) })
				pair.Wait()
				if ea != nil || eb != nil {
					fail(fmt.Errorf("duplicate pair %s: %v / %v", idem, ea, eb))
					continue
				}
				if ra.GetEntryId() != rb.GetEntryId() || !bytes.Equal(ra.GetSignature(), rb.GetSignature()) {
					fail(fmt.Errorf("key %s sent to two replicas gave entries %d and %d", idem, ra.GetEntryId(), rb.GetEntryId()))
					continue
				}
				r.add(idem, ra, nil)
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d requests failed; first: %v", len(failures), failures[0])
	}
	checkLedger(t, url, r)
	checkLogIndexes(t, url)
	// Each replica publishes checkpoints of the one log: any of them
	// must prove it grew from the saved one.
	audit.verify(t, addrs[2], url, saved)
	t.Logf("%d entries from 3 replicas, one row each", r.count())
}

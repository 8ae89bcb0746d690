//go:build reliability

package integration

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/chain"
)

// receipt is a signature a client received: the service promised it is
// in the ledger.
type receipt struct {
	idem    string
	entryID int64
	sig     []byte
	cert    string
}

// receipts collects what clients received and which requests ended without
// an answer (their outcome is unknown until they are retried).
type receipts struct {
	mu      sync.Mutex
	got     map[string]receipt
	unknown map[string]bool
}

func newReceipts() *receipts {
	return &receipts{got: map[string]receipt{}, unknown: map[string]bool{}}
}

func (r *receipts) add(idem string, resp *signerv1.SignArchiveResponse, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.unknown[idem] = true
		return
	}
	delete(r.unknown, idem)
	r.got[idem] = receipt{idem: idem, entryID: resp.GetEntryId(), sig: resp.GetSignature(), cert: resp.GetCertificatePem()}
}

func (r *receipts) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// unknownKeys returns the keys of requests without an answer.
func (r *receipts) unknownKeys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.unknown))
	for k := range r.unknown {
		out = append(out, k)
	}
	return out
}

// archiveFor is the archive a request with idempotency key idem signs, so a
// retry sends the same bytes.
func archiveFor(idem string) []byte {
	return fmt.Appendf(nil, "PK archive for %s %s", idem, strings.Repeat("z", 700))
}

// signArchive signs archiveFor(idem) and records the outcome.
func (r *receipts) sign(ctx context.Context, c signerv1.SignerServiceClient, idem string) error {
	resp, err := signOnce(ctx, c, archiveFor(idem), idem)
	r.add(idem, resp, err)
	return err
}

func dialPlain(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// ledgerRow is one row of the signatures table.
type ledgerRow struct {
	id        int64
	signature []byte
	sha256    []byte
}

// readLedger reads every signature row straight from the database, keyed
// by idempotency key, and fails on a key held by two rows.
func readLedger(t testing.TB, url string) map[string]ledgerRow {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	must(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	rows, err := conn.Query(t.Context(), `SELECT id, idempotency_key, signature, sha256 FROM signatures ORDER BY id`)
	must(t, err)
	out := map[string]ledgerRow{}
	for rows.Next() {
		var key string
		var r ledgerRow
		must(t, rows.Scan(&r.id, &key, &r.signature, &r.sha256))
		if prev, dup := out[key]; dup {
			t.Fatalf("idempotency key %s has two ledger rows: %d and %d", key, prev.id, r.id)
		}
		out[key] = r
	}
	must(t, rows.Err())
	return out
}

// checkLedger proves the ledger and what clients received agree: every
// received signature is in the ledger under its entry id, every row was
// received by some client (no orphans), and every row's signature verifies
// over its archive under the certificate the client got.
func checkLedger(t testing.TB, url string, r *receipts) {
	t.Helper()
	checkLedgerWith(t, url, r, archiveFor)
}

// checkLedgerWith is checkLedger for requests that signed archive(idem).
func checkLedgerWith(t testing.TB, url string, r *receipts, archive func(idem string) []byte) {
	t.Helper()
	rows := readLedger(t, url)
	for idem, rc := range r.got {
		row, ok := rows[idem]
		if !ok {
			t.Fatalf("client received entry %d (key %s) but the ledger has no row for it", rc.entryID, idem)
		}
		if row.id != rc.entryID || !bytes.Equal(row.signature, rc.sig) {
			t.Fatalf("key %s: client got entry %d, ledger has entry %d; signatures equal: %v", idem, rc.entryID, row.id, bytes.Equal(row.signature, rc.sig))
		}
		cert, err := chain.ParseCertificatePEM([]byte(rc.cert))
		must(t, err)
		if !ed25519.Verify(cert.PublicKey.(ed25519.PublicKey), archive(idem), row.signature) {
			t.Fatalf("ledger entry %d: the signature does not verify over its archive", row.id)
		}
	}
	for idem, row := range rows {
		if _, ok := r.got[idem]; !ok {
			t.Fatalf("ledger entry %d (key %s) was never received by a client, even after retries", row.id, idem)
		}
	}
	if len(rows) != len(r.got) {
		t.Fatalf("ledger has %d rows, clients received %d distinct entries", len(rows), len(r.got))
	}
}

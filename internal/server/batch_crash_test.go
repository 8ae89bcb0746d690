package server_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/ledger"
)

// killSessions makes the database end the session of any transaction
// that inserts a signatures row for app key com.example.crash, in the
// middle of the batch's INSERT, as a crashed or killed backend would: the
// transaction is lost with its connection, and the signer never sees a
// commit.
func killSessions(t *testing.T, url string) {
	t.Helper()
	dbExec(t, url, `
		CREATE FUNCTION crash() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.app_key = 'com.example.crash' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER crash BEFORE INSERT ON signatures FOR EACH ROW EXECUTE FUNCTION crash();`)
}

// dbExec runs sql on its own connection to url, as the database's
// superuser: what an attacker or an outage does beside the service.
func dbExec(t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	must(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	_, err = conn.Exec(t.Context(), sql)
	must(t, err)
}

// TestSignBatchSessionKilledMidBatch: the database session writing a
// batch dies mid-transaction (its backend terminated inside the INSERT of
// the batch's rows). Whatever the ledger's retries then do, no item is
// answered with a signature that the ledger and the log do not both
// hold: each item either fails with an error and no signature, or is
// durable (checkDurable); the item whose row kills the session always
// fails; and the ledger holds exactly the answered items, each with its
// leaf, so a signature made during the crash and not returned was not
// recorded either.
func TestSignBatchSessionKilledMidBatch(t *testing.T) {
	e := newBatchEnv(t)
	killSessions(t, e.url)
	var items []*signerv1.BatchItem
	for i := range 20 {
		a := fmt.Appendf(nil, "PK crash batch %d", i)
		if i%4 == 1 {
			items = append(items, archiveItem(a, fmt.Sprintf("crash-%d", i)))
		} else {
			items = append(items, digestItem(a, fmt.Sprintf("crash-%d", i)))
		}
	}
	killer := digestReq([]byte("PK killer"), "crash-killer")
	killer.AppKey = "com.example.crash"
	items[9] = &signerv1.BatchItem{Item: &signerv1.BatchItem_Digest{Digest: killer}}

	before, err := e.store.Log().Size(t.Context())
	must(t, err)
	resp, err := e.batch.SignBatch(t.Context(), &signerv1.SignBatchRequest{Items: items})
	must(t, err)
	answered := map[int64]bool{}
	for i, r := range resp.GetResults() {
		id, _, sig := entryOf(r)
		switch {
		case i == 9 && (r.GetError() == nil || len(sig) != 0):
			t.Errorf("the item whose row kills the session: %v; want an error and no signature", r)
		case r.GetError() != nil:
			if len(sig) != 0 || codes.Code(r.GetError().GetCode()) != codes.Unavailable {
				t.Errorf("item %d failed with %v and signature %x; want Unavailable (retry) and none", i, r.GetError(), sig)
			}
		default:
			e.checkDurable(t, fmt.Sprintf("item %d", i), r)
			answered[id] = true
		}
	}
	entries, err := e.store.List(t.Context(), ledger.Filter{Limit: 100})
	must(t, err)
	for _, en := range entries {
		if !answered[en.ID] {
			t.Errorf("ledger entry %d (%s) was recorded but not returned", en.ID, en.IdempotencyKey)
		}
	}
	if len(entries) != len(answered) {
		t.Errorf("%d ledger entries for %d answered items", len(entries), len(answered))
	}
	after, err := e.store.Log().Size(t.Context())
	must(t, err)
	if after.N-before.N != int64(len(answered)) {
		t.Errorf("the log grew by %d leaves for %d answered items", after.N-before.N, len(answered))
	}
	t.Logf("%d of %d items signed and recorded around the killed session", len(answered), len(items))

	// The database recovers; the caller retries the same batch, as the
	// error says: every item is signed once, each under its key.
	dbExec(t, e.url, `DROP TRIGGER crash ON signatures`)
	retry, err := e.batch.SignBatch(t.Context(), &signerv1.SignBatchRequest{Items: items})
	must(t, err)
	for i, r := range retry.GetResults() {
		if r.GetError() != nil {
			t.Fatalf("retried item %d: %v", i, r.GetError())
		}
		e.checkDurable(t, fmt.Sprintf("retried item %d", i), r)
	}
	entries, err = e.store.List(t.Context(), ledger.Filter{Limit: 100})
	must(t, err)
	if len(entries) != len(items) {
		t.Errorf("%d ledger entries after the retry, want %d: one per item", len(entries), len(items))
	}
}

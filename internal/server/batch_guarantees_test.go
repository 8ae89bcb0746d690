package server_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/statement"
	"github.com/appsign/signer/internal/translog"
)

// The tests in this file hold the batch path (one idempotency lookup, one
// parallel signing pass with one batch verification, one ledger
// transaction) to the single-item guarantees: every returned signature
// verifies and is in the ledger and the log before the response; nothing
// is returned when the transaction fails; bad items fail alone; replays
// return the same entries.

// onCommits swaps e's log for one that counts batch transactions.
func (e *batchEnv) onCommits(t *testing.T) func() (commits, leaves, byEntry int) {
	t.Helper()
	var mu sync.Mutex
	var commits, leaves, byEntry int
	_, err := e.store.OpenLog(t.Context(), translog.Options{Origin: ledger.DefaultOrigin, OnCommit: func(n int, entryByEntry bool) {
		mu.Lock()
		defer mu.Unlock()
		commits++
		leaves += n
		if entryByEntry {
			byEntry++
		}
	}})
	must(t, err)
	return func() (int, int, int) {
		mu.Lock()
		defer mu.Unlock()
		return commits, leaves, byEntry
	}
}

// entryOf returns the entry id, log index and signature of an item's result.
func entryOf(r *signerv1.BatchResult) (id, index int64, sig []byte) {
	if d := r.GetDigest(); d != nil {
		return d.GetEntryId(), d.GetLogIndex(), d.GetSignature()
	}
	a := r.GetArchive()
	return a.GetEntryId(), a.GetLogIndex(), a.GetSignature()
}

// checkDurable fails unless the item's entry is in the ledger with its
// signature and the log's leaf at its index records that row.
func (e *batchEnv) checkDurable(t *testing.T, what string, r *signerv1.BatchResult) {
	t.Helper()
	id, index, sig := entryOf(r)
	stored, err := e.store.Get(t.Context(), id)
	if err != nil {
		t.Errorf("%s: entry %d not in the ledger: %v", what, id, err)
		return
	}
	if !bytes.Equal(stored.Signature, sig) || stored.LogIndex != index {
		t.Errorf("%s: ledger holds entry %d at index %d with another signature (returned index %d)", what, id, stored.LogIndex, index)
	}
	for le, err := range e.store.Log().Entries(t.Context(), index, index+1) {
		must(t, err)
		leaf, err := translog.DecodeLeaf(le.Leaf)
		must(t, err)
		if !bytes.Equal(leaf.Payload, ledger.EncodeSignature(stored)) {
			t.Errorf("%s: log leaf %d does not record entry %d", what, index, id)
		}
	}
}

// TestSignBatchDurableBeforeResponse: a batch of digests and archives is
// one ledger transaction, written as a group; every signature returned is
// in the ledger and in the log when the response arrives, and verifies
// against the trust store (digest statements and archives alike).
func TestSignBatchDurableBeforeResponse(t *testing.T) {
	e := newBatchEnv(t)
	counts := e.onCommits(t)
	var items []*signerv1.BatchItem
	var archives [][]byte
	for i := range 60 {
		a := fmt.Appendf(nil, "PK archive %d of the durable batch", i)
		archives = append(archives, a)
		if i%3 == 0 {
			items = append(items, archiveItem(a, fmt.Sprintf("dur-%d", i)))
		} else {
			items = append(items, digestItem(a, fmt.Sprintf("dur-%d", i)))
		}
	}
	resp, err := e.batch.SignBatch(t.Context(), &signerv1.SignBatchRequest{Items: items})
	must(t, err)
	if commits, leaves, byEntry := counts(); commits != 1 || leaves != 60 || byEntry != 0 {
		t.Errorf("%d ledger commits of %d leaves (%d entry by entry), want one of 60 written as a group", commits, leaves, byEntry)
	}
	ts := chain.NewTrustStore(e.pki.Root, e.pki.Intermediate)
	var first int64
	for i, r := range resp.GetResults() {
		if r.GetError() != nil {
			t.Fatalf("item %d: %v", i, r.GetError())
		}
		e.checkDurable(t, fmt.Sprintf("item %d", i), r)
		_, index, _ := entryOf(r)
		if i == 0 {
			first = index
		} else if index != first+int64(i) {
			t.Errorf("item %d at log index %d, want %d: a batch's leaves are consecutive", i, index, first+int64(i))
		}
		if d := r.GetDigest(); d != nil {
			f, err := statement.ParseFile(d.GetSignatureFile())
			must(t, err)
			if _, err := statement.Verify(t.Context(), ts, f, bytes.NewReader(archives[i]), time.Now()); err != nil {
				t.Errorf("item %d: digest signature file does not verify: %v", i, err)
			}
			continue
		}
		sf, err := chain.ParseSignatureFile(r.GetArchive().GetSignatureFile())
		must(t, err)
		if _, err := ts.Verify(t.Context(), sf, bytes.NewReader(archives[i]), time.Now()); err != nil {
			t.Errorf("item %d: archive signature file does not verify: %v", i, err)
		}
	}
}

// poisonCommits makes every transaction that inserts a signatures row
// for app key com.example.poison fail at COMMIT, as a lost connection or
// a full disk would fail it after every statement succeeded.
func poisonCommits(t *testing.T, url string) {
	t.Helper()
	dbExec(t, url, `
		CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.app_key = 'com.example.poison' THEN RAISE EXCEPTION 'poisoned row'; END IF;
			RETURN NULL;
		END $$;
		CREATE CONSTRAINT TRIGGER poison AFTER INSERT ON signatures
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION poison();`)
}

// TestSignBatchCommitFailsReturnsNothing: when the batch's ledger
// transaction fails at commit, every item is signed (and verified) but
// none is recorded, so no item gets a signature: each fails with an error
// saying nothing was issued, and the ledger and log hold nothing of it.
func TestSignBatchCommitFailsReturnsNothing(t *testing.T) {
	e := newBatchEnv(t)
	poisonCommits(t, e.url)
	var items []*signerv1.BatchItem
	for i := range 12 {
		items = append(items, digestItem(fmt.Appendf(nil, "PK doomed %d", i), fmt.Sprintf("doom-%d", i)))
	}
	poison := digestReq([]byte("PK poison"), "poison")
	poison.AppKey = "com.example.poison"
	items[7] = &signerv1.BatchItem{Item: &signerv1.BatchItem_Digest{Digest: poison}}
	size, err := e.store.Log().Size(t.Context())
	must(t, err)

	resp, err := e.batch.SignBatch(t.Context(), &signerv1.SignBatchRequest{Items: items})
	must(t, err)
	for i, r := range resp.GetResults() {
		if r.GetError() == nil || r.GetDigest() != nil {
			t.Errorf("item %d of a batch whose commit failed: %v; want an error and no signature", i, r)
		}
	}
	entries, err := e.store.List(t.Context(), ledger.Filter{Limit: 100})
	must(t, err)
	after, err := e.store.Log().Size(t.Context())
	must(t, err)
	if len(entries) != 0 || after.N != size.N {
		t.Errorf("after the failed commit: %d ledger entries, log %d → %d leaves; want nothing recorded", len(entries), size.N, after.N)
	}
}

// TestSignBatchReplays: the same batch again returns the same entries and
// signatures, replayed, and records nothing; a batch mixing replays, new
// items and a key reused for another archive answers each on its own.
func TestSignBatchReplays(t *testing.T) {
	e := newBatchEnv(t)
	var items []*signerv1.BatchItem
	for i := range 10 {
		a := fmt.Appendf(nil, "PK replayed %d", i)
		if i%2 == 0 {
			items = append(items, digestItem(a, fmt.Sprintf("rep-%d", i)))
		} else {
			items = append(items, archiveItem(a, fmt.Sprintf("rep-%d", i)))
		}
	}
	first, err := e.batch.SignBatch(t.Context(), &signerv1.SignBatchRequest{Items: items})
	must(t, err)
	again, err := e.batch.SignBatch(t.Context(), &signerv1.SignBatchRequest{Items: items})
	must(t, err)
	for i := range items {
		id1, idx1, sig1 := entryOf(first.GetResults()[i])
		id2, idx2, sig2 := entryOf(again.GetResults()[i])
		replayed := again.GetResults()[i].GetDigest().GetReplayed() || again.GetResults()[i].GetArchive().GetReplayed()
		if id1 == 0 || id1 != id2 || idx1 != idx2 || !bytes.Equal(sig1, sig2) || !replayed {
			t.Errorf("item %d replayed: entry %d at %d (replayed %v), first entry %d at %d; want the same entry and signature", i, id2, idx2, replayed, id1, idx1)
		}
	}

	mixed := []*signerv1.BatchItem{
		items[0], // replay
		digestItem([]byte("PK new in the mixed batch"), "mix-new-1"),
		items[3], // replay
		digestItem([]byte("PK another archive"), "rep-4"), // key of item 4, other archive
		archiveItem([]byte("PK new archive in the mixed batch"), "mix-new-2"),
	}
	resp, err := e.batch.SignBatch(t.Context(), &signerv1.SignBatchRequest{Items: mixed})
	must(t, err)
	res := resp.GetResults()
	for _, k := range []struct{ mixed, first int }{{0, 0}, {2, 3}} {
		id, _, sig := entryOf(res[k.mixed])
		id1, _, sig1 := entryOf(first.GetResults()[k.first])
		if res[k.mixed].GetError() != nil || id != id1 || !bytes.Equal(sig, sig1) {
			t.Errorf("mixed item %d: %v, entry %d; want the replay of entry %d", k.mixed, res[k.mixed].GetError(), id, id1)
		}
	}
	if c := res[3].GetError().GetCode(); codes.Code(c) != codes.AlreadyExists {
		t.Errorf("reused key for another archive: code %v, want AlreadyExists", codes.Code(c))
	}
	for _, i := range []int{1, 4} {
		if res[i].GetError() != nil {
			t.Fatalf("new item %d: %v", i, res[i].GetError())
		}
		e.checkDurable(t, fmt.Sprintf("new item %d", i), res[i])
	}
	entries, err := e.store.List(t.Context(), ledger.Filter{Limit: 100})
	must(t, err)
	if len(entries) != 12 {
		t.Errorf("%d ledger entries, want 12 (10 + 2 new)", len(entries))
	}
}

// faultyOn returns a wrapper whose backend corrupts the signature of
// every message containing marker: a bit flip in an HSM, say.
func faultyOn(marker string) func(kms.Signer) kms.Signer {
	return func(s kms.Signer) kms.Signer { return kms.Verified(corrupting{Signer: s, marker: []byte(marker)}, nil) }
}

type corrupting struct {
	kms.Signer
	marker []byte
}

func (c corrupting) SignMessage(ctx context.Context, msg []byte) ([]byte, error) {
	sig, err := c.Signer.SignMessage(ctx, msg)
	if err == nil && bytes.Contains(msg, c.marker) {
		sig = bytes.Clone(sig)
		sig[5] ^= 0x10
	}
	return sig, err
}

// TestSignBatchBadItemsFailAlone: a signature the backend corrupts fails
// its own item (caught by the batch verification's fallback, Internal,
// nothing recorded) and so does a revoked key version's replay refusal;
// the other items of the batch are signed and recorded.
func TestSignBatchBadItemsFailAlone(t *testing.T) {
	e := newBatchEnvWrapped(t, faultyOn("com.example.flipped"))
	flipped := digestReq([]byte("PK flipped"), "flip-1")
	flipped.AppKey = "com.example.flipped"
	items := []*signerv1.BatchItem{
		digestItem([]byte("PK good 1"), "good-1"),
		{Item: &signerv1.BatchItem_Digest{Digest: flipped}},
		archiveItem([]byte("PK good 2"), "good-2"),
	}
	resp, err := e.batch.SignBatch(t.Context(), &signerv1.SignBatchRequest{Items: items})
	must(t, err)
	res := resp.GetResults()
	if c := codes.Code(res[1].GetError().GetCode()); c != codes.Internal || !strings.Contains(res[1].GetError().GetMessage(), "invalid signature") {
		t.Errorf("corrupted item: %v, want Internal naming an invalid signature", res[1])
	}
	for _, i := range []int{0, 2} {
		if res[i].GetError() != nil {
			t.Fatalf("good item %d: %v", i, res[i].GetError())
		}
		e.checkDurable(t, fmt.Sprintf("good item %d", i), res[i])
	}
	entries, err := e.store.List(t.Context(), ledger.Filter{Limit: 100})
	must(t, err)
	if len(entries) != 2 {
		t.Errorf("%d ledger entries, want the 2 good items", len(entries))
	}
}

// TestSignBatchRevokedKeyVersion: a replica whose active key version was
// revoked meanwhile signs a batch: the ledger refuses every item inside
// the write transaction (FailedPrecondition naming the version), nothing
// is recorded.
func TestSignBatchRevokedKeyVersion(t *testing.T) {
	e := newBatchEnv(t)
	dbExec(t, e.url, `INSERT INTO keys (name, role, created_at, created_by) VALUES ('batch-signing', 'archive-signing', now(), 'test');
		INSERT INTO key_versions (name, version, backend_uri, public_key, state, created_at, activated_at, retired_at, actor)
		VALUES ('batch-signing', 1, 'softkms:path=/k', decode(repeat('01', 32), 'hex'), 'revoked', now(), now(), now(), 'test')`)
	resp, err := e.batch.SignBatch(t.Context(), &signerv1.SignBatchRequest{Items: []*signerv1.BatchItem{
		digestItem([]byte("PK r1"), "rv-1"), archiveItem([]byte("PK r2"), "rv-2"), digestItem([]byte("PK r3"), "rv-3"),
	}})
	must(t, err)
	for i, r := range resp.GetResults() {
		if codes.Code(r.GetError().GetCode()) != codes.FailedPrecondition || !strings.Contains(r.GetError().GetMessage(), "key batch-signing version 1 is revoked") {
			t.Errorf("item %d with a revoked key version: %v; want FailedPrecondition naming batch-signing version 1", i, r)
		}
	}
	entries, err := e.store.List(t.Context(), ledger.Filter{Limit: 100})
	must(t, err)
	if len(entries) != 0 {
		t.Errorf("%d ledger entries, want none", len(entries))
	}
}

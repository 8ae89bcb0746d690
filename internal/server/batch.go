package server

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

// MaxBatchItems bounds the items of one SignBatch call.
const MaxBatchItems = 1000

// batchWorkers is how many items of one batch are signed at once on the
// item-by-item path (a Ledger without BatchLedger). Each item holds a
// database connection while its ledger entry commits, so this is what
// lets one batch overlap its commits without starving other callers.
const batchWorkers = 16

// batchService signs many items per call. With a BatchLedger (the
// PostgreSQL ledger) a batch is one idempotency lookup, one parallel
// signing pass checked by one batch verification, and one ledger
// transaction (signBatch); otherwise each item runs through the code
// paths of SignDigest and SignArchive. Either way every item gets the same
// validation, idempotency, verification and ledger commit before the
// response as its single-item RPC.
type batchService struct {
	signerv1.UnimplementedBatchServiceServer
	signer *signerService
}

// SignBatch implements signerv1.BatchServiceServer.
func (b *batchService) SignBatch(ctx context.Context, req *signerv1.SignBatchRequest) (*signerv1.SignBatchResponse, error) {
	items := req.GetItems()
	switch {
	case len(items) == 0:
		return nil, invalidArg("the batch is empty: send 1 to %d items", MaxBatchItems)
	case len(items) > MaxBatchItems:
		return nil, invalidArg("the batch has %d items; send at most %d per call", len(items), MaxBatchItems)
	}
	if bl, ok := batchLedgerOf(b.signer.cfg.Ledger); ok {
		return &signerv1.SignBatchResponse{Results: b.signBatch(ctx, bl, items)}, nil
	}
	results := make([]*signerv1.BatchResult, len(items))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(batchWorkers, len(items)) {
		wg.Go(func() {
			for i := range next {
				results[i] = b.signItem(ctx, items[i])
			}
		})
	}
	for i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
	return &signerv1.SignBatchResponse{Results: results}, nil
}

// signItem signs one item; a failure becomes the item's error result.
func (b *batchService) signItem(ctx context.Context, item *signerv1.BatchItem) *signerv1.BatchResult {
	switch it := item.GetItem().(type) {
	case *signerv1.BatchItem_Digest:
		resp, err := b.signer.signDigest(ctx, it.Digest)
		if err != nil {
			return b.failed(ctx, err)
		}
		return &signerv1.BatchResult{Result: &signerv1.BatchResult_Digest{Digest: resp}}
	case *signerv1.BatchItem_Archive:
		resp, err := b.signer.signArchive(ctx, newArchiveStream(ctx, it.Archive))
		if err != nil {
			return b.failed(ctx, err)
		}
		return &signerv1.BatchResult{Result: &signerv1.BatchResult_Archive{Archive: resp}}
	}
	return b.failed(ctx, invalidArg("batch item without content: set digest or archive"))
}

// failed maps err through the one error mapping (toStatus), so an item
// fails with the code and message its single-item RPC would give; the
// call itself succeeds, so the interceptor never sees the item's error.
func (b *batchService) failed(ctx context.Context, err error) *signerv1.BatchResult {
	method, _ := grpc.Method(ctx)
	st := status.Convert(toStatus(ctx, b.signer.cfg.Logger, method, err))
	return &signerv1.BatchResult{Result: &signerv1.BatchResult_Error{Error: &signerv1.BatchError{
		Code: int32(st.Code()), Message: st.Message(),
	}}}
}

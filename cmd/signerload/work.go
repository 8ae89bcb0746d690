package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

// workload makes the requests of one run.
type workload struct {
	opts    options
	runID   string
	archive []byte // archive mode: the bytes every request sends
	sha256  []byte
	sha512  []byte
}

// prepare makes the archive (random bytes, so it never starts with the
// digest statement prefix by more than chance) and its digests.
func (w *workload) prepare() error {
	size := w.opts.size
	if w.opts.mode != "archive" {
		size = 4096
	}
	w.archive = make([]byte, size)
	if _, err := rand.Read(w.archive); err != nil {
		return err
	}
	w.archive[0] = 'P' // a ZIP's first byte; never the statement prefix
	s256, s512 := sha256.Sum256(w.archive), sha512.Sum512(w.archive)
	w.sha256, w.sha512 = s256[:], s512[:]
	return nil
}

// loop sends requests with ctx until stop ends or the budget runs out.
func (w *workload) loop(stop, ctx context.Context, conn *grpc.ClientConn, caller int, b *budget, st *stats) {
	for seq := 0; stop.Err() == nil && ctx.Err() == nil && b.take(); seq++ {
		key := fmt.Sprintf("load-%s-%d-%d", w.runID, caller, seq)
		start := time.Now()
		n, err := w.once(ctx, conn, key)
		if ctx.Err() != nil {
			return // interrupted mid-call: neither a result nor an error
		}
		st.add(time.Since(start), n, int64(n)*w.itemBytes(), err)
	}
}

// itemBytes is how many archive bytes one signature covers.
func (w *workload) itemBytes() int64 {
	if w.opts.mode == "archive" {
		return int64(len(w.archive))
	}
	return 0
}

// once sends one request and returns how many signatures it got.
func (w *workload) once(ctx context.Context, conn *grpc.ClientConn, key string) (int, error) {
	switch w.opts.mode {
	case "digest":
		_, err := signerv1.NewSignerServiceClient(conn).SignDigest(ctx, w.digest(key))
		return signed(err), err
	case "batch":
		return w.batch(ctx, conn, key)
	}
	err := w.sign(ctx, conn, key)
	return signed(err), err
}

// signed is the signature count of a single-item call.
func signed(err error) int {
	if err != nil {
		return 0
	}
	return 1
}

func (w *workload) digest(key string) *signerv1.SignDigestRequest {
	return &signerv1.SignDigestRequest{
		AppKey: w.opts.appKey, Version: "1.0.0", Track: signerv1.Track_TRACK_MARKETPLACE,
		ReviewRef: "load", IdempotencyKey: key,
		ArchiveSize: int64(len(w.archive)), Sha256: w.sha256, Sha512: w.sha512,
	}
}

func (w *workload) sign(ctx context.Context, conn *grpc.ClientConn, key string) error {
	stream, err := signerv1.NewSignerServiceClient(conn).SignArchive(ctx)
	if err != nil {
		return err
	}
	meta := &signerv1.SignArchiveMetadata{
		AppKey: w.opts.appKey, Version: "1.0.0", Track: signerv1.Track_TRACK_MARKETPLACE,
		ReviewRef: "load", IdempotencyKey: key,
	}
	if err := stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Metadata{Metadata: meta}}); err != nil {
		_, err = stream.CloseAndRecv()
		return err
	}
	for off := 0; off < len(w.archive); off += w.opts.chunk {
		end := min(off+w.opts.chunk, len(w.archive))
		if err := stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Chunk{Chunk: w.archive[off:end]}}); err != nil {
			break // the server ended the call; CloseAndRecv has its status
		}
	}
	_, err = stream.CloseAndRecv()
	return err
}

// batch sends one SignBatch of digest items and counts the signed ones;
// the first failed item's status is returned as the error.
func (w *workload) batch(ctx context.Context, conn *grpc.ClientConn, key string) (int, error) {
	req := &signerv1.SignBatchRequest{Items: make([]*signerv1.BatchItem, w.opts.batchSize)}
	for i := range req.Items {
		req.Items[i] = &signerv1.BatchItem{Item: &signerv1.BatchItem_Digest{Digest: w.digest(fmt.Sprintf("%s-%d", key, i))}}
	}
	resp, err := signerv1.NewBatchServiceClient(conn).SignBatch(ctx, req)
	if err != nil {
		return 0, err
	}
	n := 0
	var first error
	for _, r := range resp.GetResults() {
		if e := r.GetError(); e != nil {
			if first == nil {
				first = status.Error(codeOf(e.GetCode()), e.GetMessage())
			}
			continue
		}
		n++
	}
	return n, first
}

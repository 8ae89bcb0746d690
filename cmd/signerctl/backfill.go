package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

// Archives up to batchItemMax bytes go through SignBatch, up to batchBytes
// and batchItems per call (one gRPC message is at most 4 MiB); larger ones
// are streamed with SignArchive.
const (
	batchItemMax = 1 << 20
	batchBytes   = 3 << 20
	batchItems   = 64
)

type backfillOptions struct {
	track, reviewRef string
	conn             client
	concurrency      int
	progress         bool
}

func newBackfillCommand() *cobra.Command {
	var o backfillOptions
	cmd := &cobra.Command{
		Use:   "backfill DIR",
		Short: "Sign a folder of existing app versions; rerun to resume",
		Long: `Sign every app version under DIR, laid out as

  DIR/<app-key>/<version>/<archive>      (exactly one archive per version)

and write <archive>.sig next to each archive. Archives that already have a
.sig file are skipped, so after an interruption (Ctrl-C, a crash, the
server unavailable) running the same command again finishes the job.
Each archive's idempotency key is derived from its app key, version, track
and SHA-256, so an archive whose entry was recorded before the interruption
gets that entry back (replayed) rather than a second signature.

Small archives (up to 1 MiB) are sent in SignBatch calls, larger ones
streamed one by one. Exit status 1 if any archive failed (the others are
signed; rerun to retry the failures).`,
		Args: exactArgs(1, "DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBackfill(cmd, o, args[0])
		},
	}
	addConnFlags(cmd, &o.conn)
	f := cmd.Flags()
	f.StringVar(&o.track, "track", "marketplace", "track of every version: marketplace or private-build")
	completeValues(cmd, "track", "marketplace", "private-build")
	f.StringVar(&o.reviewRef, "review-ref", "backfill", "review reference recorded with every entry")
	f.IntVar(&o.concurrency, "concurrency", 4, "calls in flight at once")
	f.BoolVar(&o.progress, "progress", true, "show a progress bar on stderr")
	return cmd
}

// backfillRun is the state of one backfill.
type backfillRun struct {
	o      backfillOptions
	track  signerv1.Track
	client signerv1.SignerServiceClient
	batch  signerv1.BatchServiceClient
	bar    *progressbar.ProgressBar

	signed, replayed atomic.Int64
	mu               sync.Mutex
	failures         []string
}

func runBackfill(cmd *cobra.Command, o backfillOptions, dir string) error {
	track, err := parseTrack(o.track)
	if err != nil {
		return err
	}
	if o.concurrency < 1 {
		return usagef("--concurrency must be positive")
	}
	todo, skipped, err := scanBackfill(dir)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "backfill %s: %d to sign, %d already signed (skipped)\n", dir, len(todo), skipped)
	if len(todo) == 0 {
		return nil
	}
	return o.conn.with(cmd.Context(), "backfill", func(ctx context.Context, conn *grpc.ClientConn) error {
		return runBackfillOn(cmd, conn, o, track, todo, skipped)
	})
}

// runBackfillOn signs todo through conn, concurrency batches at a time.
func runBackfillOn(cmd *cobra.Command, conn *grpc.ClientConn, o backfillOptions, track signerv1.Track, todo []backfillItem, skipped int) error {
	out := cmd.OutOrStdout()
	r := &backfillRun{o: o, track: track, client: signerv1.NewSignerServiceClient(conn), batch: signerv1.NewBatchServiceClient(conn)}
	progress := io.Discard
	if o.progress {
		progress = cmd.ErrOrStderr()
	}
	r.bar = progressbar.NewOptions(len(todo), progressbar.OptionSetWriter(progress), progressbar.OptionSetDescription("signing"),
		progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())

	jobs := make(chan []backfillItem)
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Go(func() {
			for job := range jobs {
				r.do(cmd.Context(), job)
			}
		})
	}
	for _, job := range plan(todo) {
		if cmd.Context().Err() != nil {
			break
		}
		jobs <- job
	}
	close(jobs)
	wg.Wait()
	_ = r.bar.Finish()

	fmt.Fprintf(out, "signed %d, already recorded (replayed) %d, skipped %d, failed %d\n", r.signed.Load(), r.replayed.Load(), skipped, len(r.failures))
	if len(r.failures) > 0 {
		for _, f := range r.failures {
			fmt.Fprintln(cmd.ErrOrStderr(), "failed:", f)
		}
		return withCode(exitError, fmt.Errorf("backfill: %d of %d archives failed; run the same command again to retry them", len(r.failures), len(todo)))
	}
	return cmd.Context().Err()
}

// plan groups small archives into batches; a large archive is a job alone.
func plan(items []backfillItem) [][]backfillItem {
	var jobs [][]backfillItem
	var cur []backfillItem
	var curBytes int64
	for _, it := range items {
		if it.size > batchItemMax {
			jobs = append(jobs, []backfillItem{it})
			continue
		}
		if len(cur) == batchItems || curBytes+it.size > batchBytes {
			jobs = append(jobs, cur)
			cur, curBytes = nil, 0
		}
		cur = append(cur, it)
		curBytes += it.size
	}
	if len(cur) > 0 {
		jobs = append(jobs, cur)
	}
	return jobs
}

func (r *backfillRun) fail(it backfillItem, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf("%s %s (%s): %v", it.appKey, it.version, it.path, err))
}

// done writes an item's signature file and counts it.
func (r *backfillRun) done(it backfillItem, sigFile []byte, replayed bool) {
	defer r.bar.Add(1)
	if err := writeSigFile(it.sigPath(), sigFile); err != nil {
		r.fail(it, fmt.Errorf("write signature file: %w", err))
		return
	}
	if replayed {
		r.replayed.Add(1)
	} else {
		r.signed.Add(1)
	}
}

func (r *backfillRun) do(ctx context.Context, job []backfillItem) {
	if len(job) == 1 && job[0].size > batchItemMax {
		it := job[0]
		resp, err := r.stream(ctx, it)
		if err != nil {
			r.fail(it, err)
			_ = r.bar.Add(1)
			return
		}
		r.done(it, resp.GetSignatureFile(), resp.GetReplayed())
		return
	}
	r.signBatch(ctx, job)
}

func (r *backfillRun) meta(it backfillItem, sum []byte) *signerv1.SignArchiveMetadata {
	return &signerv1.SignArchiveMetadata{
		AppKey: it.appKey, Version: it.version, Track: r.track, ReviewRef: r.o.reviewRef,
		IdempotencyKey: it.idempotencyKey(r.track.String(), sum), ExpectedSha256: sum,
	}
}

// signBatch sends small archives in one SignBatch call.
func (r *backfillRun) signBatch(ctx context.Context, job []backfillItem) {
	req := &signerv1.SignBatchRequest{}
	var sent []backfillItem
	for _, it := range job {
		content, sum, err := readArchive(it.path)
		if err != nil {
			r.fail(it, err)
			_ = r.bar.Add(1)
			continue
		}
		req.Items = append(req.Items, &signerv1.BatchItem{Item: &signerv1.BatchItem_Archive{Archive: &signerv1.BatchArchive{Metadata: r.meta(it, sum), Content: content}}})
		sent = append(sent, it)
	}
	if len(sent) == 0 {
		return
	}
	resp, err := r.batch.SignBatch(ctx, req)
	if err == nil && len(resp.GetResults()) != len(sent) {
		err = fmt.Errorf("server returned %d results for %d items", len(resp.GetResults()), len(sent))
	}
	if err != nil {
		for _, it := range sent {
			r.fail(it, rpcError("sign batch", err))
			_ = r.bar.Add(1)
		}
		return
	}
	for i, res := range resp.GetResults() {
		if e := res.GetError(); e != nil {
			r.fail(sent[i], fmt.Errorf("%s: %s", codes.Code(uint32(e.GetCode())), e.GetMessage()))
			_ = r.bar.Add(1)
			continue
		}
		a := res.GetArchive()
		r.done(sent[i], a.GetSignatureFile(), a.GetReplayed())
	}
}

// stream signs one large archive with SignArchive: a first pass for the
// SHA-256 (the idempotency key depends on it), a second to upload.
func (r *backfillRun) stream(ctx context.Context, it backfillItem) (*signerv1.SignArchiveResponse, error) {
	f, err := os.Open(it.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	stream, err := r.client.SignArchive(ctx)
	if err != nil {
		return nil, rpcError("sign", err)
	}
	if err := sendArchive(stream, r.meta(it, h.Sum(nil)), f); err != nil {
		return nil, err
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, rpcError("sign", err)
	}
	return resp, nil
}

// sendArchive sends the metadata then the file in chunks. A Send error
// means the server ended the call: CloseAndRecv reports why.
func sendArchive(stream grpc.ClientStreamingClient[signerv1.SignArchiveRequest, signerv1.SignArchiveResponse], meta *signerv1.SignArchiveMetadata, f io.Reader) error {
	if err := stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Metadata{Metadata: meta}}); err != nil {
		return nil
	}
	buf := make([]byte, chunkSize)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			if serr := stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Chunk{Chunk: buf[:n]}}); serr != nil {
				return nil
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
	}
}

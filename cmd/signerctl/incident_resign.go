package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/limits"
)

// SignBatch's limits: at most 1000 items and one 4 MiB message. Content is
// packed up to resignBatchBytes, leaving room for metadata; an archive
// larger than that is streamed alone with SignArchive.
const (
	resignBatchItems = 1000
	resignBatchBytes = 3<<20 + 512<<10
)

// resignKey is the idempotency key of re-signing entry e after revocation
// r: the one a replay's refusal names, so a rerun replays, never doubles.
func resignKey(revocationID, entryID int64) string {
	return fmt.Sprintf("resign:r%d:e%d", revocationID, entryID)
}

// resignOutcome is one version's result.
type resignOutcome struct {
	item     resignItem
	entryID  int64 // the new entry
	replayed bool
	missing  string // why there is no archive
	failed   string // why the server did not sign it
}

// resignResult is a re-sign phase's tally.
type resignResult struct {
	mu       sync.Mutex
	outcomes []resignOutcome
}

func (res *resignResult) add(o resignOutcome) {
	res.mu.Lock()
	defer res.mu.Unlock()
	res.outcomes = append(res.outcomes, o)
}

// resign signs every affected version again under the active key.
func (r *incidentRun) resign() error {
	start := time.Now()
	set, err := r.affected(&signerv1.ListEntriesRequest{RevocationId: r.st.KeyRevocationID})
	if err != nil {
		return err
	}
	if set.entries != r.st.KeyAffectedTotal {
		return withCode(exitError, fmt.Errorf("the ledger lists %d entries under revocation %d, the revocation reported %d: run `signerctl ledger verify`", set.entries, r.st.KeyRevocationID, r.st.KeyAffectedTotal))
	}
	finder, err := newArchiveFinder(r.o.archives, r.o.manifest)
	if err != nil {
		return err
	}
	res := &resignResult{}
	var ready []resignItem
	for _, it := range set.versions {
		if !it.digest() {
			p, why := finder.find(it.entry)
			if p == "" {
				res.add(resignOutcome{item: it, missing: why})
				continue
			}
			it.path = p
		}
		ready = append(ready, it)
	}
	jobs := planResignJobs(ready, r.o.batchItems)

	ch := make(chan []resignItem)
	var wg sync.WaitGroup
	for range r.o.workers {
		wg.Go(func() {
			for job := range ch {
				r.signJob(r.cmd.Context(), job, res)
			}
		})
	}
	for _, job := range jobs {
		ch <- job
	}
	close(ch)
	wg.Wait()
	if err := r.cmd.Context().Err(); err != nil {
		return err
	}
	return r.recordResign(set, res, time.Since(start))
}

// planResignJobs groups items into SignBatch calls of at most maxItems
// items and resignBatchBytes of content (a digest item counts 512 bytes of
// metadata); an archive larger than that is a job alone, streamed.
func planResignJobs(items []resignItem, maxItems int) [][]resignItem {
	var jobs [][]resignItem
	var cur []resignItem
	var curBytes int64
	for _, it := range items {
		size := int64(512)
		if !it.digest() {
			size = it.entry.GetArchiveSize()
		}
		if size > resignBatchBytes {
			jobs = append(jobs, []resignItem{it})
			continue
		}
		if len(cur) == maxItems || curBytes+size > resignBatchBytes {
			jobs = append(jobs, cur)
			cur, curBytes = nil, 0
		}
		cur = append(cur, it)
		curBytes += size
	}
	if len(cur) > 0 {
		jobs = append(jobs, cur)
	}
	return jobs
}

// signJob signs one batch (or one large archive) and writes the signature
// files.
func (r *incidentRun) signJob(ctx context.Context, job []resignItem, res *resignResult) {
	if len(job) == 1 && !job[0].digest() && job[0].entry.GetArchiveSize() > resignBatchBytes {
		it := job[0]
		resp, err := streamArchive(ctx, r.signConn, r.archiveMeta(it), it.path)
		if err != nil {
			res.add(resignOutcome{item: it, failed: rpcError("sign", err).Error()})
			return
		}
		r.finishItem(it, resp.GetSignatureFile(), resp.GetEntryId(), resp.GetReplayed(), res)
		return
	}
	req := &signerv1.SignBatchRequest{}
	var sent []resignItem
	for _, it := range job {
		if it.digest() {
			e := it.entry
			req.Items = append(req.Items, &signerv1.BatchItem{Item: &signerv1.BatchItem_Digest{Digest: &signerv1.SignDigestRequest{
				AppKey: e.GetAppKey(), Version: e.GetVersion(), Track: e.GetTrack(), ReviewRef: e.GetReviewRef(),
				IdempotencyKey: resignKey(r.st.KeyRevocationID, e.GetId()), ArchiveSize: e.GetArchiveSize(), Sha256: e.GetSha256(), Sha512: e.GetSha512(),
			}}})
			sent = append(sent, it)
			continue
		}
		content, err := os.ReadFile(it.path)
		if err != nil {
			res.add(resignOutcome{item: it, missing: err.Error()})
			continue
		}
		if sum := sha256.Sum256(content); !bytes.Equal(sum[:], it.entry.GetSha256()) {
			res.add(resignOutcome{item: it, missing: fmt.Sprintf("%s has sha256 %x, the ledger entry %x", it.path, sum, it.entry.GetSha256())})
			continue
		}
		req.Items = append(req.Items, &signerv1.BatchItem{Item: &signerv1.BatchItem_Archive{Archive: &signerv1.BatchArchive{Metadata: r.archiveMeta(it), Content: content}}})
		sent = append(sent, it)
	}
	if len(sent) == 0 {
		return
	}
	resp, err := r.signBatch(ctx, req)
	if err == nil && len(resp.GetResults()) != len(sent) {
		err = fmt.Errorf("server returned %d results for %d items", len(resp.GetResults()), len(sent))
	}
	if err != nil {
		for _, it := range sent {
			res.add(resignOutcome{item: it, failed: rpcError("sign batch", err).Error()})
		}
		return
	}
	for i, out := range resp.GetResults() {
		it := sent[i]
		switch {
		case out.GetError() != nil:
			res.add(resignOutcome{item: it, failed: fmt.Sprintf("%s: %s", codes.Code(uint32(out.GetError().GetCode())), out.GetError().GetMessage())})
		case out.GetDigest() != nil:
			d := out.GetDigest()
			r.finishItem(it, d.GetSignatureFile(), d.GetEntryId(), d.GetReplayed(), res)
		default:
			a := out.GetArchive()
			r.finishItem(it, a.GetSignatureFile(), a.GetEntryId(), a.GetReplayed(), res)
		}
	}
}

// signBatch calls SignBatch, retrying a call the server turned away for
// now (rate or concurrency limit, a replica going away): the idempotency
// keys make a retried batch replay what the first attempt recorded.
func (r *incidentRun) signBatch(ctx context.Context, req *signerv1.SignBatchRequest) (*signerv1.SignBatchResponse, error) {
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		resp, err := signerv1.NewBatchServiceClient(r.signConn).SignBatch(ctx, req)
		code := status.Code(err)
		if err == nil || attempt == 5 || (code != codes.ResourceExhausted && code != codes.Unavailable) {
			return resp, err
		}
		wait := backoff << (attempt - 1)
		if d, ok := limits.RetryDelay(err); ok {
			wait = d
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (r *incidentRun) archiveMeta(it resignItem) *signerv1.SignArchiveMetadata {
	e := it.entry
	return &signerv1.SignArchiveMetadata{
		AppKey: e.GetAppKey(), Version: e.GetVersion(), Track: e.GetTrack(), ReviewRef: e.GetReviewRef(),
		IdempotencyKey: resignKey(r.st.KeyRevocationID, e.GetId()), ExpectedSha256: e.GetSha256(),
	}
}

// finishItem writes the new signature file: next to the archive, or for a
// digest entry under --out/resigned/<app-key>/<version>/.
func (r *incidentRun) finishItem(it resignItem, sigFile []byte, entryID int64, replayed bool, res *resignResult) {
	path := it.path + ".sig"
	if it.digest() {
		dir := filepath.Join(r.o.out, "resigned", it.entry.GetAppKey(), it.entry.GetVersion())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			res.add(resignOutcome{item: it, failed: err.Error()})
			return
		}
		path = filepath.Join(dir, hex.EncodeToString(it.entry.GetSha256())+".sig")
	}
	if err := writeSigFile(path, sigFile); err != nil {
		res.add(resignOutcome{item: it, failed: fmt.Sprintf("write %s: %v", path, err)})
		return
	}
	res.add(resignOutcome{item: it, entryID: entryID, replayed: replayed})
}

// recordResign files the phase's counts in the state and the missing
// archives in --out/missing-archives.txt. A failure the server reported
// fails the phase (a rerun retries it: idempotency keys make that safe);
// missing archives do not stop the incident, they fail it at the end.
func (r *incidentRun) recordResign(set *affectedSet, res *resignResult, took time.Duration) error {
	var signed, replayed int64
	var missing, failed []string
	for _, o := range res.outcomes {
		e := o.item.entry
		switch {
		case o.failed != "":
			failed = append(failed, fmt.Sprintf("entry %d %s %s: %s", e.GetId(), e.GetAppKey(), e.GetVersion(), o.failed))
		case o.missing != "":
			missing = append(missing, fmt.Sprintf("entry %d\t%s\t%s\t%s\t%x\t%s", e.GetId(), e.GetAppKey(), e.GetVersion(), trackText(e.GetTrack()), e.GetSha256(), o.missing))
		case o.replayed:
			replayed++
		default:
			signed++
		}
	}
	sort.Strings(missing)
	body := strings.Join(missing, "\n")
	if body != "" {
		body += "\n"
	}
	if err := writeSigFile(filepath.Join(r.o.out, "missing-archives.txt"), []byte(body)); err != nil {
		return err
	}
	r.st.Resign = resignCounts{
		Versions: int64(len(set.versions)), Signed: signed, Replayed: replayed, Missing: int64(len(missing)),
		ArchiveRevoked: int64(len(set.revoked)), Seconds: took.Seconds(),
	}
	r.logf("re-signed %d version(s) (%d new, %d already recorded) in %s; %d archive(s) missing, %d version(s) not re-signed because their archive is revoked",
		signed+replayed, signed, replayed, took.Round(time.Millisecond), len(missing), len(set.revoked))
	if len(failed) > 0 {
		sort.Strings(failed)
		for _, f := range failed {
			fmt.Fprintln(r.cmd.ErrOrStderr(), "not re-signed:", f)
		}
		return withCode(exitError, fmt.Errorf("re-sign: the server refused %d version(s) (listed above): fix the cause and run the same command again", len(failed)))
	}
	return nil
}

// resignCounts is the state's record of the last re-sign phase.
type resignCounts struct {
	Versions       int64   `json:"versions"`
	Signed         int64   `json:"signed"`
	Replayed       int64   `json:"replayed"`
	Missing        int64   `json:"missing_archives"`
	ArchiveRevoked int64   `json:"archive_revoked"`
	Seconds        float64 `json:"seconds"`
}

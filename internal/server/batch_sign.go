package server

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/statement"
)

// BatchLedger is the optional capability of a Ledger that records a
// signing batch at once (ledger.Store has it). Without it SignBatch runs
// each item through the single-item path.
type BatchLedger interface {
	// FindByIdempotencyKeys returns the entries caller recorded under keys, by key.
	FindByIdempotencyKeys(ctx context.Context, caller string, keys []string) (map[string]ledger.Entry, error)
	// RecordBatch records entries in one ledger transaction, each with
	// Record's answer.
	RecordBatch(ctx context.Context, entries []ledger.Entry) []ledger.RecordResult
}

// batchJob is one item of a batch on the batch path.
type batchJob struct {
	i      int          // index of the item in the request
	entry  ledger.Entry // what is recorded; Signature once signed
	msg    []byte       // what is signed: the digest statement or the archive
	digest bool         // a digest item (else an archive)
}

// errItemAlone sends a batch item through the single-item path: an
// archive the active key can only stream.
var errItemAlone = errors.New("server: item signed alone")

// signBatch signs items with one active key, one idempotency lookup, one
// parallel signing pass checked by one batch verification, and one ledger
// transaction (bl.RecordBatch): every returned signature has been verified
// and has committed, with its log leaf, before the response is built. An
// item that fails (bad input, a key another request used, a revoked
// replay, a backend fault) fails alone with the status its single-item
// RPC would give.
func (b *batchService) signBatch(ctx context.Context, bl BatchLedger, items []*signerv1.BatchItem) []*signerv1.BatchResult {
	s := b.signer
	results := make([]*signerv1.BatchResult, len(items))
	key, err := s.cfg.Keys.Active(ctx)
	if err == nil {
		err = key.Check() // once, where SignDigest checks per call (statement.SignFile)
	}
	if err != nil {
		for i := range items {
			results[i] = b.failed(ctx, err)
		}
		return results
	}
	caller := s.cfg.Caller(ctx)
	signedAt := s.cfg.Now().UTC().Truncate(time.Microsecond)
	serial := serialHex(key.Cert)

	var jobs []*batchJob
	var alone []int
	for i, item := range items {
		job, err := b.prepare(ctx, item, key)
		switch {
		case errors.Is(err, errItemAlone):
			alone = append(alone, i)
			continue
		case err != nil:
			results[i] = b.failed(ctx, err)
			continue
		}
		job.i = i
		job.entry.KeyID, job.entry.KeyVersion, job.entry.CertSerial = key.ID, key.Version, serial
		job.entry.Caller, job.entry.SignedAt = caller, signedAt
		jobs = append(jobs, job)
	}

	jobs = b.replays(ctx, bl, caller, jobs, results)
	jobs = b.sign(ctx, key, jobs, results)
	if len(jobs) > 0 {
		entries := make([]ledger.Entry, len(jobs))
		for n, j := range jobs {
			entries[n] = j.entry
		}
		var revoked error // every item has the batch's key version: one answer, one key reload
		for n, r := range bl.RecordBatch(ctx, entries) {
			var rk *ledger.RevokedKeyError
			switch {
			case errors.As(r.Err, &rk):
				if revoked == nil {
					revoked = s.recordFailed(ctx, r.Err)
				}
				results[jobs[n].i] = b.failed(ctx, revoked)
				continue
			case r.Err != nil:
				results[jobs[n].i] = b.failed(ctx, s.recordFailed(ctx, r.Err))
				continue
			}
			results[jobs[n].i] = b.answer(ctx, jobs[n].digest, r.Entry, r.Replayed)
		}
	}
	for _, i := range alone {
		results[i] = b.signItem(ctx, items[i])
	}
	b.logBatch(ctx, results)
	return results
}

// prepare checks one item as its single-item RPC would and returns what
// to sign and record; the statement of a digest item is built here, with
// the key and time of the whole batch.
func (b *batchService) prepare(ctx context.Context, item *signerv1.BatchItem, key *SigningKey) (*batchJob, error) {
	s := b.signer
	switch it := item.GetItem().(type) {
	case *signerv1.BatchItem_Digest:
		want, err := s.digestEntry(ctx, it.Digest)
		if err != nil {
			return nil, err
		}
		return &batchJob{entry: want, digest: true}, nil
	case *signerv1.BatchItem_Archive:
		return s.archiveJob(ctx, it.Archive, key)
	}
	return nil, invalidArg("batch item without content: set digest or archive")
}

// archiveJob checks an archive item as SignArchive checks an upload; its
// bytes are already in memory, so they are signed whole (one pass).
func (s *signerService) archiveJob(ctx context.Context, a *signerv1.BatchArchive, key *SigningKey) (*batchJob, error) {
	meta := a.GetMetadata()
	content := a.GetContent()
	switch {
	case meta == nil:
		return nil, invalidArg("archive item without metadata: set app_key, version, track, … in metadata")
	case len(content) == 0:
		if err := validateMetadata(meta); err != nil {
			return nil, err
		}
		return nil, invalidArg("archive is empty: send the archive bytes as chunks after the metadata")
	}
	if err := validateMetadata(meta); err != nil {
		return nil, err
	}
	if err := checkMarketplaceSigning(ctx, meta.GetTrack()); err != nil {
		return nil, err
	}
	size := int64(len(content))
	if size > s.cfg.MaxArchiveSize {
		return nil, invalidArg("%s; nothing was signed", errTooLarge{s.cfg.MaxArchiveSize}.Error())
	}
	if n := len(statement.ReservedPrefix); len(content) >= n && statement.HasReservedPrefix(content[:n]) {
		return nil, invalidArg("archive starts with %q, which is reserved for digest statements: it cannot be signed as an archive", statement.ReservedPrefix)
	}
	sum256, sum512 := sha256.Sum256(content), sha512.Sum512(content)
	if want := meta.GetExpectedSha256(); len(want) != 0 && subtle.ConstantTimeCompare(want, sum256[:]) != 1 {
		return nil, invalidArg("archive SHA-256 is %x but expected_sha256 is %x: the upload is corrupt or the wrong file was sent", sum256, want)
	}
	limits := key.Signer.Limits()
	if !limits.CanSign(size) {
		return nil, clientErrorf(codes.FailedPrecondition,
			"the active signing key %s v%d is held in a backend that cannot pure-sign a %d-byte archive (limit %d bytes); configure a streaming key (software, KMS-sealed) for archive signing",
			key.ID, key.Version, size, limits.MaxMessage)
	}
	if limits.MaxMessage != kms.Unlimited && size > limits.MaxMessage {
		return nil, errItemAlone // the key streams it, on SignArchive's path
	}
	track, _ := trackName(meta.GetTrack())
	return &batchJob{msg: content, entry: ledger.Entry{
		AppKey: meta.GetAppKey(), Version: meta.GetVersion(), Track: track, Profile: ledger.ProfileUPM,
		ArchiveSize: size, SHA256: sum256[:], SHA512: sum512[:],
		ReviewRef: meta.GetReviewRef(), IdempotencyKey: meta.GetIdempotencyKey(),
	}}, nil
}

// replays answers, with one query, the jobs whose idempotency key the
// caller already used (the recorded entry, ErrIdempotencyConflict, or the
// refusal of a revoked entry), and returns the others.
func (b *batchService) replays(ctx context.Context, bl BatchLedger, caller string, jobs []*batchJob, results []*signerv1.BatchResult) []*batchJob {
	if len(jobs) == 0 {
		return jobs
	}
	keys := make([]string, len(jobs))
	for n, j := range jobs {
		keys[n] = j.entry.IdempotencyKey
	}
	found, err := bl.FindByIdempotencyKeys(ctx, caller, keys)
	if err != nil {
		for _, j := range jobs {
			results[j.i] = b.failed(ctx, err)
		}
		return nil
	}
	left := jobs[:0]
	for _, j := range jobs {
		prev, ok := found[j.entry.IdempotencyKey]
		switch {
		case !ok:
			left = append(left, j)
		case !prev.SameRequest(j.entry):
			results[j.i] = b.failed(ctx, fmt.Errorf("idempotency key %q: %w", j.entry.IdempotencyKey, ledger.ErrIdempotencyConflict))
		default:
			results[j.i] = b.answer(ctx, j.digest, prev, true)
		}
	}
	return left
}

// sign builds the digest statements, signs every job's message in one
// kms.SignMessages call (parallel, batch-verified) and returns the jobs
// that got a signature.
func (b *batchService) sign(ctx context.Context, key *SigningKey, jobs []*batchJob, results []*signerv1.BatchResult) []*batchJob {
	msgs := make([][]byte, 0, len(jobs))
	left := jobs[:0]
	for _, j := range jobs {
		if j.digest {
			e := j.entry
			st, err := statement.Statement{
				AppKey: e.AppKey, Version: e.Version, Track: e.Track,
				ArchiveSize: e.ArchiveSize, SHA256: e.SHA256, SHA512: e.SHA512,
				SignedAt: e.SignedAt, KeyID: key.ID, KeyVersion: key.Version,
			}.Marshal()
			if err != nil {
				results[j.i] = b.failed(ctx, err)
				continue
			}
			j.msg, j.entry.Statement = st, st
		}
		msgs = append(msgs, j.msg)
		left = append(left, j)
	}
	sigs, errs := kms.SignMessages(ctx, key.Signer, msgs)
	signed := left[:0]
	for n, j := range left {
		if errs[n] != nil {
			results[j.i] = b.failed(ctx, fmt.Errorf("sign with %s: %w", key.Signer.URI(), errs[n]))
			continue
		}
		j.entry.Signature = sigs[n]
		signed = append(signed, j)
	}
	return signed
}

// answer builds an item's result from its ledger entry.
func (b *batchService) answer(ctx context.Context, digest bool, e ledger.Entry, replayed bool) *signerv1.BatchResult {
	if digest {
		resp, err := b.signer.digestResponse(ctx, e, replayed)
		if err != nil {
			return b.failed(ctx, err)
		}
		return &signerv1.BatchResult{Result: &signerv1.BatchResult_Digest{Digest: resp}}
	}
	resp, err := b.signer.response(ctx, e, replayed)
	if err != nil {
		return b.failed(ctx, err)
	}
	return &signerv1.BatchResult{Result: &signerv1.BatchResult_Archive{Archive: resp}}
}

// logBatch logs one line per batch: what was signed, replayed, refused.
func (b *batchService) logBatch(ctx context.Context, results []*signerv1.BatchResult) {
	var signed, replayed, failed int
	for _, r := range results {
		switch {
		case r.GetError() != nil:
			failed++
		case r.GetDigest().GetReplayed() || r.GetArchive().GetReplayed():
			replayed++
		default:
			signed++
		}
	}
	b.signer.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "batch signed",
		slog.String("request_id", RequestID(ctx)),
		slog.Int("items", len(results)),
		slog.Int("signed", signed),
		slog.Int("replayed", replayed),
		slog.Int("failed", failed))
}

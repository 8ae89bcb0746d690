package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/statement"
)

// SignDigest implements signerv1.SignerServiceServer: it signs a digest
// statement (docs/digest-profile.md) with the active key. Every backend can
// do this, AWS KMS included, because a statement is under 4096 bytes.
func (s *signerService) SignDigest(ctx context.Context, req *signerv1.SignDigestRequest) (*signerv1.SignDigestResponse, error) {
	return s.signDigest(ctx, req)
}

func (s *signerService) signDigest(ctx context.Context, req *signerv1.SignDigestRequest) (*signerv1.SignDigestResponse, error) {
	want, err := s.digestEntry(ctx, req)
	if err != nil {
		return nil, err
	}
	track := want.Track
	caller := s.cfg.Caller(ctx)
	// No lookup of the idempotency key first: Record resolves a reused key
	// (the same request gets the recorded signature, a different one
	// ErrIdempotencyConflict), so a replay costs one discarded signature
	// and a fresh request, the common case, saves a round trip.

	key, err := s.cfg.Keys.Active(ctx)
	if err != nil {
		return nil, err
	}
	st := statement.Statement{
		AppKey: want.AppKey, Version: want.Version, Track: track,
		ArchiveSize: want.ArchiveSize, SHA256: want.SHA256, SHA512: want.SHA512,
		SignedAt: s.cfg.Now().UTC().Truncate(time.Microsecond),
		KeyID:    key.ID, KeyVersion: key.Version,
	}
	// The key's certificate is already parsed: checking it against the
	// signer here, not through statement.SignFile, saves parsing it again
	// from PEM on every call (the largest cost of a digest signature after
	// the Ed25519 operations).
	if err := key.Check(); err != nil {
		return nil, err
	}
	msg, err := st.Marshal()
	if err != nil {
		return nil, err
	}
	sig, err := statement.Sign(ctx, key.Signer, st) // signs st.Marshal(), the bytes in msg
	if err != nil {
		return nil, err
	}
	entry, replayed, err := s.cfg.Ledger.Record(ctx, ledger.Entry{
		AppKey: want.AppKey, Version: want.Version, Track: track, Profile: ledger.ProfileDigestV1,
		ArchiveSize: want.ArchiveSize, SHA256: want.SHA256, SHA512: want.SHA512,
		KeyID: key.ID, KeyVersion: key.Version, CertSerial: serialHex(key.Cert),
		Signature: sig, Statement: msg,
		Caller: caller, ReviewRef: req.GetReviewRef(), IdempotencyKey: req.GetIdempotencyKey(),
		SignedAt: st.SignedAt,
	})
	if err != nil {
		return nil, s.recordFailed(ctx, err)
	}
	return s.digestResponse(ctx, entry, replayed)
}

// digestEntry checks a SignDigest request (or batch item) and returns what
// it asks to have signed: the entry without key, signature or statement.
func (s *signerService) digestEntry(ctx context.Context, req *signerv1.SignDigestRequest) (ledger.Entry, error) {
	if err := validateMetadata(&signerv1.SignArchiveMetadata{
		AppKey: req.GetAppKey(), Version: req.GetVersion(), Track: req.GetTrack(),
		ReviewRef: req.GetReviewRef(), IdempotencyKey: req.GetIdempotencyKey(),
	}); err != nil {
		return ledger.Entry{}, err
	}
	if err := checkMarketplaceSigning(ctx, req.GetTrack()); err != nil {
		return ledger.Entry{}, err
	}
	switch {
	case req.GetArchiveSize() <= 0:
		return ledger.Entry{}, invalidArg("archive_size must be positive")
	case req.GetArchiveSize() > s.cfg.MaxArchiveSize:
		return ledger.Entry{}, invalidArg("archive_size %d exceeds the maximum size of %d bytes", req.GetArchiveSize(), s.cfg.MaxArchiveSize)
	case len(req.GetSha256()) != 32:
		return ledger.Entry{}, invalidArg("sha256 must be 32 bytes (got %d)", len(req.GetSha256()))
	case len(req.GetSha512()) != 64:
		return ledger.Entry{}, invalidArg("sha512 must be 64 bytes (got %d)", len(req.GetSha512()))
	}
	track, _ := trackName(req.GetTrack())
	return ledger.Entry{
		AppKey: req.GetAppKey(), Version: req.GetVersion(), Track: track, Profile: ledger.ProfileDigestV1,
		ArchiveSize: req.GetArchiveSize(), SHA256: req.GetSha256(), SHA512: req.GetSha512(),
		ReviewRef: req.GetReviewRef(), IdempotencyKey: req.GetIdempotencyKey(),
	}, nil
}

func (s *signerService) digestResponse(ctx context.Context, e ledger.Entry, replayed bool) (*signerv1.SignDigestResponse, error) {
	key, err := s.entryKey(ctx, e, replayed)
	if err != nil {
		return nil, err
	}
	enc := s.encoders.of(key.Cert)
	file, err := enc.Marshal(e.Statement, e.Signature)
	if err != nil {
		return nil, err
	}
	return &signerv1.SignDigestResponse{
		SignatureFile:  file,
		Statement:      e.Statement,
		Signature:      e.Signature,
		CertificatePem: string(enc.Certificate()),
		KeyId:          e.KeyID,
		KeyVersion:     e.KeyVersion,
		EntryId:        e.ID,
		SignedAt:       timestamppb.New(e.SignedAt),
		Replayed:       replayed,
		LogIndex:       e.LogIndex,
	}, nil
}

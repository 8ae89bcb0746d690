package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/statement"
)

type signerService struct {
	signerv1.UnimplementedSignerServiceServer
	cfg      *Config
	encoders fileEncoders // digest responses' signature files, per certificate
}

// SignArchive implements signerv1.SignerServiceServer.
func (s *signerService) SignArchive(stream grpc.ClientStreamingServer[signerv1.SignArchiveRequest, signerv1.SignArchiveResponse]) error {
	ctx := stream.Context()
	resp, err := s.signArchive(ctx, stream)
	if err != nil {
		return err
	}
	return stream.SendAndClose(resp)
}

func (s *signerService) signArchive(ctx context.Context, stream grpc.ClientStreamingServer[signerv1.SignArchiveRequest, signerv1.SignArchiveResponse]) (*signerv1.SignArchiveResponse, error) {
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return nil, invalidArg("empty request stream: send SignArchiveMetadata first, then the archive chunks")
	}
	if err != nil {
		return nil, err
	}
	meta := first.GetMetadata()
	if meta == nil {
		return nil, invalidArg("the first message must carry metadata (app_key, version, track, …), not an archive chunk")
	}
	if err := validateMetadata(meta); err != nil {
		return nil, err
	}
	if err := checkMarketplaceSigning(ctx, meta.GetTrack()); err != nil {
		return nil, err
	}
	track, _ := trackName(meta.GetTrack())

	sp := newSpool(s.cfg.SpoolDir, s.cfg.MaxArchiveSize)
	defer sp.Close()
	if err := receiveArchive(stream, sp); err != nil {
		return nil, err
	}
	if sp.size == 0 {
		return nil, invalidArg("archive is empty: send the archive bytes as chunks after the metadata")
	}
	if sp.reservedPrefix() {
		return nil, invalidArg("archive starts with %q, which is reserved for digest statements: it cannot be signed as an archive", statement.ReservedPrefix)
	}
	sum256, sum512 := sp.sha256.Sum(nil), sp.sha512.Sum(nil)
	if want := meta.GetExpectedSha256(); len(want) != 0 && subtle.ConstantTimeCompare(want, sum256) != 1 {
		return nil, invalidArg("archive SHA-256 is %x but expected_sha256 is %x: the upload is corrupt or the wrong file was sent", sum256, want)
	}

	caller := s.cfg.Caller(ctx)
	// A retry of a large archive is answered from the ledger before any
	// signing work. A small one is not looked up first: Record resolves a
	// reused key itself (the same request gets the recorded signature, a
	// different one ErrIdempotencyConflict), and a replay then costs one
	// discarded signature instead of every request paying a round trip.
	if !sp.inMemory() {
		if prev, err := s.cfg.Ledger.FindByIdempotencyKey(ctx, caller, meta.GetIdempotencyKey()); err == nil {
			if !prev.SameRequest(ledger.Entry{AppKey: meta.GetAppKey(), Version: meta.GetVersion(), Track: track, Profile: ledger.ProfileUPM, SHA256: sum256}) {
				return nil, fmt.Errorf("idempotency key %q: %w", meta.GetIdempotencyKey(), ledger.ErrIdempotencyConflict)
			}
			return s.response(ctx, prev, true)
		} else if !errors.Is(err, ledger.ErrNotFound) {
			return nil, err
		}
	}

	key, err := s.cfg.Keys.Active(ctx)
	if err != nil {
		return nil, err
	}
	if !key.Signer.Limits().CanSign(sp.size) {
		return nil, clientErrorf(codes.FailedPrecondition,
			"the active signing key %s v%d is held in a backend that cannot pure-sign a %d-byte archive (limit %d bytes); configure a streaming key (software, KMS-sealed) for archive signing",
			key.ID, key.Version, sp.size, key.Signer.Limits().MaxMessage)
	}
	signedAt := s.cfg.Now().UTC().Truncate(time.Microsecond)
	sig, err := signSpool(ctx, key.Signer, sp)
	if err != nil {
		return nil, err
	}
	entry, replayed, err := s.cfg.Ledger.Record(ctx, ledger.Entry{
		AppKey:         meta.GetAppKey(),
		Version:        meta.GetVersion(),
		Track:          track,
		ArchiveSize:    sp.size,
		SHA256:         sum256,
		SHA512:         sum512,
		KeyID:          key.ID,
		KeyVersion:     key.Version,
		CertSerial:     serialHex(key.Cert),
		Signature:      sig,
		Profile:        ledger.ProfileUPM,
		Caller:         caller,
		ReviewRef:      meta.GetReviewRef(),
		IdempotencyKey: meta.GetIdempotencyKey(),
		SignedAt:       signedAt,
	})
	if err != nil {
		return nil, s.recordFailed(ctx, err)
	}
	s.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "archive signed",
		slog.String("request_id", RequestID(ctx)),
		slog.Int64("entry_id", entry.ID),
		slog.String("app_key", entry.AppKey),
		slog.String("version", entry.Version),
		slog.String("key", fmt.Sprintf("%s v%d", entry.KeyID, entry.KeyVersion)),
		slog.Int64("size", entry.ArchiveSize),
		slog.Bool("replayed", replayed))
	return s.response(ctx, entry, replayed)
}

// receiveArchive copies the chunks after the metadata into sp.
func receiveArchive(stream grpc.ClientStreamingServer[signerv1.SignArchiveRequest, signerv1.SignArchiveResponse], sp *spool) error {
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if msg.GetMetadata() != nil {
			return invalidArg("metadata sent twice: send it once, in the first message only")
		}
		chunk, ok := msg.GetPayload().(*signerv1.SignArchiveRequest_Chunk)
		if !ok {
			return invalidArg("message without payload: every message after the metadata must carry a chunk")
		}
		if _, err := sp.Write(chunk.Chunk); err != nil {
			var tl errTooLarge
			if errors.As(err, &tl) {
				return invalidArg("%s; nothing was signed", tl.Error())
			}
			return err
		}
	}
}

// signSpool signs the spooled archive with pure Ed25519. An archive held
// in memory is signed whole when the backend takes it in one call: one
// pass to sign and one to verify, where streaming reads it twice to sign
// and once more to verify. Larger archives stream when the backend can,
// and go in one call otherwise (the caller checked the backend's limit).
func signSpool(ctx context.Context, signer kms.Signer, sp *spool) ([]byte, error) {
	lim := signer.Limits()
	if sp.inMemory() && (lim.MaxMessage == kms.Unlimited || sp.size <= lim.MaxMessage) {
		return signer.SignMessage(ctx, sp.mem)
	}
	if ss, ok := signer.(kms.StreamSigner); ok {
		return ss.SignStream(ctx, sp.ReaderAt(), sp.size)
	}
	buf, err := sp.bytes()
	if err != nil {
		return nil, err
	}
	return signer.SignMessage(ctx, buf)
}

// entryKey is the key version that made a ledger entry's signature, for
// its response. A replay of a revoked entry is refused instead: the caller
// must never get a revoked signature back.
func (s *signerService) entryKey(ctx context.Context, e ledger.Entry, replayed bool) (*SigningKey, error) {
	if replayed && e.Revoked {
		return nil, s.revokedReplay(ctx, e)
	}
	key, err := s.cfg.Keys.Lookup(ctx, e.KeyID, e.KeyVersion)
	if err != nil {
		return nil, fmt.Errorf("certificate for ledger entry %d: %w", e.ID, err)
	}
	return key, nil
}

// response builds the answer for a ledger entry, with the certificate of
// the key version that made the signature.
func (s *signerService) response(ctx context.Context, e ledger.Entry, replayed bool) (*signerv1.SignArchiveResponse, error) {
	key, err := s.entryKey(ctx, e, replayed)
	if err != nil {
		return nil, err
	}
	certPEM := key.CertPEM()
	file, err := chain.SignatureFile{Signature: e.Signature, Certificate: certPEM}.Marshal()
	if err != nil {
		return nil, err
	}
	return &signerv1.SignArchiveResponse{
		SignatureFile:  file,
		Signature:      e.Signature,
		CertificatePem: string(certPEM),
		Sha256:         e.SHA256,
		Sha512:         e.SHA512,
		ArchiveSize:    e.ArchiveSize,
		KeyId:          e.KeyID,
		KeyVersion:     e.KeyVersion,
		EntryId:        e.ID,
		SignedAt:       timestamppb.New(e.SignedAt),
		Replayed:       replayed,
		LogIndex:       e.LogIndex,
	}, nil
}

// GetTrustBundle implements signerv1.SignerServiceServer.
func (s *signerService) GetTrustBundle(ctx context.Context, _ *signerv1.GetTrustBundleRequest) (*signerv1.GetTrustBundleResponse, error) {
	var out []*signerv1.TrustCertificate
	for _, tc := range chain.BundleFor(s.cfg.Trust.Roots, s.cfg.Trust.Intermediates) {
		out = append(out, &signerv1.TrustCertificate{
			FileName: tc.FileName,
			Pem:      tc.PEM,
			Subject:  tc.Cert.Subject.String(),
			Role:     tc.Role,
			NotAfter: timestamppb.New(tc.Cert.NotAfter),
			Sha256:   sha256Hex([]byte(tc.PEM)),
		})
	}
	return &signerv1.GetTrustBundleResponse{Certificates: out}, nil
}

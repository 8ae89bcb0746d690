package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/ledger"
)

const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

type ledgerService struct {
	signerv1.UnimplementedLedgerServiceServer
	cfg *Config
}

// GetEntry implements signerv1.LedgerServiceServer.
func (s *ledgerService) GetEntry(ctx context.Context, req *signerv1.GetEntryRequest) (*signerv1.GetEntryResponse, error) {
	if req.GetId() <= 0 {
		return nil, invalidArg("id must be a positive ledger entry id")
	}
	e, err := s.cfg.Ledger.Get(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return &signerv1.GetEntryResponse{Entry: entryProto(e)}, nil
}

// pageToken is the opaque cursor of ListEntries: the last id returned and
// a digest of the filter, so a token cannot be replayed against another
// query. Ids only grow, so a cursor is stable while entries are appended.
type pageToken struct {
	After  int64  `json:"a"`
	Filter string `json:"f"`
}

// ListEntries implements signerv1.LedgerServiceServer.
func (s *ledgerService) ListEntries(ctx context.Context, req *signerv1.ListEntriesRequest) (*signerv1.ListEntriesResponse, error) {
	return s.list(ctx, req)
}

// listFilter turns a request's filters into a ledger.Filter, checking them.
func listFilter(req *signerv1.ListEntriesRequest) (ledger.Filter, error) {
	f := ledger.Filter{AppKey: req.GetAppKey(), Version: req.GetVersion(), KeyID: req.GetKeyId(),
		KeyVersion: req.GetKeyVersion(), CertSerial: req.GetCertificateSerial(), Caller: req.GetCaller(),
		RevocationID: req.GetRevocationId(), IdempotencyPrefix: req.GetIdempotencyKeyPrefix()}
	if f.AppKey != "" {
		if err := ValidateAppKey(f.AppKey); err != nil {
			return f, err
		}
	}
	if f.Version != "" {
		if err := ValidateVersion(f.Version); err != nil {
			return f, err
		}
	}
	if req.GetTrack() != signerv1.Track_TRACK_UNSPECIFIED {
		t, err := trackName(req.GetTrack())
		if err != nil {
			return f, err
		}
		f.Track = t
	}
	switch {
	case f.KeyVersion < 0:
		return f, invalidArg("key_version must not be negative")
	case f.KeyVersion > 0 && f.KeyID == "":
		return f, invalidArg("key_version needs key_id")
	case f.RevocationID < 0:
		return f, invalidArg("revocation_id must not be negative")
	case f.CertSerial != "" && !isLowerHex(f.CertSerial):
		return f, invalidArg("certificate_serial must be lowercase hex, as the ledger records it")
	case len(req.GetSha256()) != 0 && len(req.GetSha256()) != sha256.Size:
		return f, invalidArg("sha256 must be 32 bytes (got %d)", len(req.GetSha256()))
	}
	if len(req.GetSha256()) != 0 {
		f.SHA256 = req.GetSha256()
	}
	if req.GetSignedFrom() != nil {
		f.SignedFrom = req.GetSignedFrom().AsTime()
	}
	if req.GetSignedTo() != nil {
		f.SignedTo = req.GetSignedTo().AsTime()
	}
	if !f.SignedFrom.IsZero() && !f.SignedTo.IsZero() && !f.SignedFrom.Before(f.SignedTo) {
		return f, invalidArg("signed_from must be before signed_to")
	}
	switch req.GetRevocation() {
	case signerv1.RevocationFilter_REVOCATION_FILTER_UNSPECIFIED:
	case signerv1.RevocationFilter_REVOCATION_FILTER_REVOKED:
		f.Revoked = new(bool)
		*f.Revoked = true
	case signerv1.RevocationFilter_REVOCATION_FILTER_NOT_REVOKED:
		f.Revoked = new(bool)
	default:
		return f, invalidArg("unknown revocation filter %d", req.GetRevocation())
	}
	return f, nil
}

// filterDigest identifies a filter for page tokens.
func filterDigest(f ledger.Filter) string {
	f.AfterID, f.Limit = 0, 0
	raw, _ := json.Marshal(struct {
		F        ledger.Filter
		From, To int64
	}{f, timeKey(f.SignedFrom), timeKey(f.SignedTo)})
	sum := sha256.Sum256(raw)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

func timeKey(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func (s *ledgerService) list(ctx context.Context, req *signerv1.ListEntriesRequest) (*signerv1.ListEntriesResponse, error) {
	f, err := listFilter(req)
	if err != nil {
		return nil, err
	}
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	tok := pageToken{Filter: filterDigest(f)}
	if req.GetPageToken() != "" {
		var got pageToken
		raw, err := base64.RawURLEncoding.DecodeString(req.GetPageToken())
		if err != nil || json.Unmarshal(raw, &got) != nil || got.After < 0 {
			return nil, invalidArg("page_token is malformed: pass next_page_token from the previous response unchanged")
		}
		if got.Filter != tok.Filter {
			return nil, invalidArg("page_token belongs to a query with other filters: repeat the same filters or start without a token")
		}
		tok.After = got.After
	}
	// Ask for one more than a page to know whether another page follows.
	f.AfterID, f.Limit = tok.After, size+1
	entries, err := s.cfg.Ledger.List(ctx, f)
	if err != nil {
		return nil, err
	}
	resp := &signerv1.ListEntriesResponse{}
	if len(entries) > size {
		entries = entries[:size]
		tok.After = entries[size-1].ID
		raw, _ := json.Marshal(tok)
		resp.NextPageToken = base64.RawURLEncoding.EncodeToString(raw)
	}
	for _, e := range entries {
		resp.Entries = append(resp.Entries, entryProto(e))
	}
	return resp, nil
}

func isLowerHex(s string) bool {
	return !slices.ContainsFunc([]byte(s), func(c byte) bool { return !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') })
}

func entryProto(e ledger.Entry) *signerv1.LedgerEntry {
	return &signerv1.LedgerEntry{
		Id:                e.ID,
		AppKey:            e.AppKey,
		Version:           e.Version,
		Track:             trackEnum(e.Track),
		ArchiveSize:       e.ArchiveSize,
		Sha256:            e.SHA256,
		Sha512:            e.SHA512,
		KeyId:             e.KeyID,
		KeyVersion:        e.KeyVersion,
		CertificateSerial: e.CertSerial,
		Signature:         e.Signature,
		Caller:            e.Caller,
		ReviewRef:         e.ReviewRef,
		IdempotencyKey:    e.IdempotencyKey,
		SignedAt:          timestamppb.New(e.SignedAt),
		LogIndex:          e.LogIndex,
		Profile:           e.Profile,
		Statement:         e.Statement,
		Revoked:           e.Revoked,
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

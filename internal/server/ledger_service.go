package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"

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
		return nil, toStatus(ctx, s.cfg.Logger, "GetEntry", invalidArg("id must be a positive ledger entry id"))
	}
	e, err := s.cfg.Ledger.Get(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(ctx, s.cfg.Logger, "GetEntry", err)
	}
	return &signerv1.GetEntryResponse{Entry: entryProto(e)}, nil
}

// pageToken is the opaque cursor of ListEntries. It carries the filter so
// a token cannot be replayed against another query.
type pageToken struct {
	After   int64  `json:"a"`
	AppKey  string `json:"k,omitempty"`
	Version string `json:"v,omitempty"`
}

// ListEntries implements signerv1.LedgerServiceServer.
func (s *ledgerService) ListEntries(ctx context.Context, req *signerv1.ListEntriesRequest) (*signerv1.ListEntriesResponse, error) {
	resp, err := s.list(ctx, req)
	if err != nil {
		return nil, toStatus(ctx, s.cfg.Logger, "ListEntries", err)
	}
	return resp, nil
}

func (s *ledgerService) list(ctx context.Context, req *signerv1.ListEntriesRequest) (*signerv1.ListEntriesResponse, error) {
	if req.GetAppKey() != "" {
		if err := ValidateAppKey(req.GetAppKey()); err != nil {
			return nil, err
		}
	}
	if req.GetVersion() != "" {
		if err := ValidateVersion(req.GetVersion()); err != nil {
			return nil, err
		}
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0 || size > maxPageSize:
		return nil, invalidArg("page_size must be between 0 and %d", maxPageSize)
	case size == 0:
		size = defaultPageSize
	}
	tok := pageToken{AppKey: req.GetAppKey(), Version: req.GetVersion()}
	if req.GetPageToken() != "" {
		var got pageToken
		raw, err := base64.RawURLEncoding.DecodeString(req.GetPageToken())
		if err != nil || json.Unmarshal(raw, &got) != nil || got.After < 0 {
			return nil, invalidArg("page_token is malformed: pass next_page_token from the previous response unchanged")
		}
		if got.AppKey != tok.AppKey || got.Version != tok.Version {
			return nil, invalidArg("page_token belongs to a query with other filters: repeat the same filters or start without a token")
		}
		tok.After = got.After
	}
	// Ask for one more than a page to know whether another page follows.
	entries, err := s.cfg.Ledger.List(ctx, ledger.Filter{AppKey: tok.AppKey, Version: tok.Version, AfterID: tok.After, Limit: size + 1})
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
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

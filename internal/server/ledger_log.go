package server

import (
	"context"

	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/translog"
)

// logEntriesPerMessage is how many log positions one StreamLogEntries
// message carries: about 0.5 MB for signature leaves.
const logEntriesPerMessage = 512

// log returns the configured log or a FailedPrecondition for the client.
func (s *ledgerService) log() (*translog.Log, error) {
	if s.cfg.LedgerLog == nil {
		return nil, clientErrorf(codes.FailedPrecondition, "this server does not serve the ledger log")
	}
	return s.cfg.LedgerLog, nil
}

// GetCheckpoint implements signerv1.LedgerServiceServer.
func (s *ledgerService) GetCheckpoint(ctx context.Context, _ *signerv1.GetCheckpointRequest) (*signerv1.GetCheckpointResponse, error) {
	l, err := s.log()
	if err != nil {
		return nil, err
	}
	cp, err := l.Latest(ctx)
	if err != nil {
		return nil, err
	}
	resp := &signerv1.GetCheckpointResponse{Checkpoint: cp.Note, Origin: l.Origin(), TreeSize: cp.Tree.N, RootHash: cp.Tree.Hash[:]}
	head, err := l.Size(ctx)
	if err != nil {
		return nil, err
	}
	resp.LogSize = head.N
	if vkey, err := l.VerifierKey(); err == nil {
		resp.VerifierKey = vkey
	}
	return resp, nil
}

// ListCheckpoints implements signerv1.LedgerServiceServer.
func (s *ledgerService) ListCheckpoints(ctx context.Context, req *signerv1.ListCheckpointsRequest) (*signerv1.ListCheckpointsResponse, error) {
	l, err := s.log()
	if err != nil {
		return nil, err
	}
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	cps, err := l.Checkpoints(ctx, req.GetAfterSize(), size)
	if err != nil {
		return nil, err
	}
	resp := &signerv1.ListCheckpointsResponse{}
	for _, cp := range cps {
		resp.Checkpoints = append(resp.Checkpoints, cp.Note)
	}
	return resp, nil
}

// GetInclusionProof implements signerv1.LedgerServiceServer.
func (s *ledgerService) GetInclusionProof(ctx context.Context, req *signerv1.GetInclusionProofRequest) (*signerv1.GetInclusionProofResponse, error) {
	l, err := s.log()
	if err != nil {
		return nil, err
	}
	cp, err := s.signedTree(ctx, l, req.GetTreeSize())
	if err != nil {
		return nil, err
	}
	index := req.GetLogIndex()
	if index < 0 || index >= cp.Tree.N {
		return nil, invalidArg("log_index %d is not in the signed tree of %d leaves", index, cp.Tree.N)
	}
	proof, err := l.InclusionProof(ctx, index, cp.Tree.N)
	if err != nil {
		return nil, err
	}
	resp := &signerv1.GetInclusionProofResponse{LogIndex: index, TreeSize: cp.Tree.N, Proof: hashBytes(proof), Checkpoint: cp.Note}
	for e, err := range l.Entries(ctx, index, index+1) {
		if err != nil {
			return nil, err
		}
		resp.Leaf = e.Leaf
	}
	return resp, nil
}

// GetConsistencyProof implements signerv1.LedgerServiceServer.
func (s *ledgerService) GetConsistencyProof(ctx context.Context, req *signerv1.GetConsistencyProofRequest) (*signerv1.GetConsistencyProofResponse, error) {
	l, err := s.log()
	if err != nil {
		return nil, err
	}
	cp, err := s.signedTree(ctx, l, req.GetNewSize())
	if err != nil {
		return nil, err
	}
	old := req.GetOldSize()
	if old < 1 || old > cp.Tree.N {
		return nil, invalidArg("old_size %d must be between 1 and the new size %d", old, cp.Tree.N)
	}
	proof, err := l.ConsistencyProof(ctx, old, cp.Tree.N)
	if err != nil {
		return nil, err
	}
	return &signerv1.GetConsistencyProofResponse{OldSize: old, NewSize: cp.Tree.N, Proof: hashBytes(proof), Checkpoint: cp.Note}, nil
}

// signedTree returns the stored checkpoint of size n, or the latest for 0.
func (s *ledgerService) signedTree(ctx context.Context, l *translog.Log, n int64) (translog.Checkpoint, error) {
	if n < 0 {
		return translog.Checkpoint{}, invalidArg("tree_size must not be negative")
	}
	if n == 0 {
		return l.Latest(ctx)
	}
	cps, err := l.Checkpoints(ctx, n-1, 1)
	if err != nil {
		return translog.Checkpoint{}, err
	}
	if len(cps) == 0 || cps[0].Tree.N != n {
		return translog.Checkpoint{}, clientErrorf(codes.NotFound, "no signed checkpoint of tree size %d: use the size of one from ListCheckpoints or 0 for the latest", n)
	}
	return cps[0], nil
}

// StreamLogEntries implements signerv1.LedgerServiceServer.
func (s *ledgerService) StreamLogEntries(req *signerv1.StreamLogEntriesRequest, stream grpc.ServerStreamingServer[signerv1.StreamLogEntriesResponse]) error {
	ctx := stream.Context()
	return s.streamLogEntries(ctx, req, stream)
}

func (s *ledgerService) streamLogEntries(ctx context.Context, req *signerv1.StreamLogEntriesRequest, stream grpc.ServerStreamingServer[signerv1.StreamLogEntriesResponse]) error {
	l, err := s.log()
	if err != nil {
		return err
	}
	start, end := req.GetStart(), req.GetEnd()
	if start < 0 || end < 0 {
		return invalidArg("start and end must not be negative")
	}
	if end == 0 {
		cp, err := l.Latest(ctx)
		if err != nil {
			return err
		}
		end = cp.Tree.N
	}
	msg := &signerv1.StreamLogEntriesResponse{}
	flush := func() error {
		if len(msg.Entries) == 0 {
			return nil
		}
		err := stream.Send(msg)
		msg = &signerv1.StreamLogEntriesResponse{}
		return err
	}
	for e, err := range l.Entries(ctx, start, end) {
		if err != nil {
			return err
		}
		pe := &signerv1.LogEntry{Index: e.Index, Leaf: e.Leaf}
		if e.Hash != nil {
			pe.StoredHash = e.Hash[:]
		}
		msg.Entries = append(msg.Entries, pe)
		if len(msg.Entries) == logEntriesPerMessage {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// ListSigningCertificates implements signerv1.LedgerServiceServer.
func (s *ledgerService) ListSigningCertificates(ctx context.Context, _ *signerv1.ListSigningCertificatesRequest) (*signerv1.ListSigningCertificatesResponse, error) {
	resp := &signerv1.ListSigningCertificatesResponse{}
	if s.cfg.keyStore == nil {
		k, err := s.cfg.Keys.Active(ctx)
		if err != nil {
			return nil, err
		}
		resp.Certificates = append(resp.Certificates, &signerv1.SigningCertificate{
			KeyId: k.ID, KeyVersion: k.Version, PublicKey: k.Signer.Public(), CertificatePem: string(k.CertPEM()),
		})
		return resp, nil
	}
	keys, err := s.cfg.keyStore.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.Role != keystore.RoleArchiveSigning {
			continue
		}
		for _, v := range k.Versions {
			sc := &signerv1.SigningCertificate{KeyId: k.Name, KeyVersion: v.Version, PublicKey: v.PublicKey}
			if v.Cert != nil {
				sc.CertificatePem = string((&SigningKey{Cert: v.Cert}).CertPEM())
			}
			resp.Certificates = append(resp.Certificates, sc)
		}
	}
	return resp, nil
}

func hashBytes(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// pageSize checks a requested page size: 0 means defaultPageSize.
func pageSize(n int32) (int, error) {
	switch {
	case n < 0 || n > maxPageSize:
		return 0, invalidArg("page_size must be between 0 and %d", maxPageSize)
	case n == 0:
		return defaultPageSize, nil
	}
	return int(n), nil
}

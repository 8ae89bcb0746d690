package server

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/ledger"
)

// projectionReader is the optional Ledger capability behind
// StreamProjectionRows (ledger.Store has it).
type projectionReader interface {
	ReadProjections(ctx context.Context) (ledger.Projections, error)
}

// projectionRowsPerMessage bounds one StreamProjectionRows message.
const projectionRowsPerMessage = 500

// StreamProjectionRows implements signerv1.LedgerServiceServer. It serves
// the rows as stored: judging them against the log is the auditor's job.
func (s *ledgerService) StreamProjectionRows(_ *signerv1.StreamProjectionRowsRequest, stream grpc.ServerStreamingServer[signerv1.StreamProjectionRowsResponse]) error {
	ctx := stream.Context()
	if err := s.streamProjectionRows(ctx, stream); err != nil {
		return err
	}
	return nil
}

func (s *ledgerService) streamProjectionRows(ctx context.Context, stream grpc.ServerStreamingServer[signerv1.StreamProjectionRowsResponse]) error {
	l := s.cfg.Ledger
	if m, ok := l.(meteredLedger); ok {
		l = m.Ledger
	}
	pr, ok := l.(projectionReader)
	if !ok {
		return clientErrorf(codes.FailedPrecondition, "this signer's ledger has no tables to recompute from its log")
	}
	p, err := pr.ReadProjections(ctx)
	if err != nil {
		return err
	}
	msg := &signerv1.StreamProjectionRowsResponse{LogSize: p.LogSize}
	for _, t := range ledger.ProjectedTables {
		for _, r := range p.Tables[t] {
			msg.Rows = append(msg.Rows, &signerv1.ProjectionRow{Table: r.Table, Key: r.Key, Columns: r.Cols, Data: r.Data})
			if len(msg.Rows) == projectionRowsPerMessage {
				if err := stream.Send(msg); err != nil {
					return err
				}
				msg = &signerv1.StreamProjectionRowsResponse{LogSize: p.LogSize}
			}
		}
	}
	if len(msg.Rows) == 0 && msg.LogSize == 0 {
		return nil
	}
	return stream.Send(msg)
}

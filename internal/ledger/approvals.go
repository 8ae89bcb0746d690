package ledger

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/translog"
)

// ApprovalEventHook returns the hook (approvalpg.Store.OnConsume) that
// logs every used two-person approval in the transaction that uses it: the
// transparency log then proves who asked for the action and who agreed.
func (s *Store) ApprovalEventHook() func(ctx context.Context, tx pgx.Tx, a auth.Approval) error {
	return func(ctx context.Context, tx pgx.Tx, a auth.Approval) error {
		_, err := s.AppendEventTx(ctx, tx, ApprovalEvent(a))
		return err
	}
}

// ApprovalEvent is the ledger event of a used approval. The reason is an
// operator's free text and is logged as given: it must hold no secret.
func ApprovalEvent(a auth.Approval) Event {
	return Event{
		Kind:    translog.KindAdmin,
		Action:  "approval-used",
		Subject: a.Action + " " + a.Target,
		Actor:   a.RequestedBy,
		At:      a.ConsumedAt,
		Detail: struct {
			ApprovalID  string `json:"approval_id"`
			Reason      string `json:"reason,omitempty"`
			RequestedBy string `json:"requested_by"`
			RequestedAt string `json:"requested_at"`
			ApprovedBy  string `json:"approved_by"`
			ApprovedAt  string `json:"approved_at"`
		}{a.ID, a.Reason, a.RequestedBy, a.RequestedAt.UTC().Format(time.RFC3339Nano), a.ApprovedBy, a.ApprovedAt.UTC().Format(time.RFC3339Nano)},
	}
}

package ledger

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/translog"
)

// Actions of the approval leaves (kind admin). Subject is "<action>
// <target>" of the approval; the detail names the approval, both people
// and the parameters' hash.
const (
	ApprovalRequested = "approval-requested"
	ApprovalApproved  = "approval-approved"
	ApprovalUsed      = "approval-used"
	// ApprovalWaived is logged where the two-person rule was waived
	// (`signer dev`'s single operator) instead of an approval's use.
	ApprovalWaived = "approval-waived"
)

// ApprovalHooks sets the approvalpg.Store hooks (OnRequest, OnApprove,
// OnConsume) that log each step of the two-person rule in its own
// transaction: the transparency log then proves who asked for which
// parameters, who agreed to exactly those, and that the use matched both,
// whatever is later done to the approvals rows.
func (s *Store) ApprovalHooks() (onRequest, onApprove, onConsume func(ctx context.Context, tx pgx.Tx, a auth.Approval) error) {
	hook := func(action string) func(ctx context.Context, tx pgx.Tx, a auth.Approval) error {
		return func(ctx context.Context, tx pgx.Tx, a auth.Approval) error {
			_, err := s.AppendEventTx(ctx, tx, approvalEvent(action, a))
			return err
		}
	}
	return hook(ApprovalRequested), hook(ApprovalApproved), hook(ApprovalUsed)
}

// ApprovalEventHook returns the hook (approvalpg.Store.OnConsume) that
// logs every used two-person approval in the transaction that uses it.
func (s *Store) ApprovalEventHook() func(ctx context.Context, tx pgx.Tx, a auth.Approval) error {
	_, _, used := s.ApprovalHooks()
	return used
}

// ApprovalEvent is the ledger event of a used approval. The reason is an
// operator's free text and is logged as given: it must hold no secret.
func ApprovalEvent(a auth.Approval) Event { return approvalEvent(ApprovalUsed, a) }

// ApprovalLogDetail is the detail of an approval leaf. Times are RFC 3339;
// those not reached yet at the step logged are empty.
type ApprovalLogDetail struct {
	ApprovalID   string `json:"approval_id"`
	Reason       string `json:"reason,omitempty"`
	RequestedBy  string `json:"requested_by"`
	RequestedAt  string `json:"requested_at"`
	ApprovedBy   string `json:"approved_by,omitempty"`
	ApprovedAt   string `json:"approved_at,omitempty"`
	ParamsSHA256 string `json:"params_sha256"`
	ExpiresAt    string `json:"expires_at,omitempty"`
}

func approvalEvent(action string, a auth.Approval) Event {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	ev := Event{
		Kind:    translog.KindAdmin,
		Action:  action,
		Subject: a.Action + " " + a.Target,
		Detail: ApprovalLogDetail{ApprovalID: a.ID, Reason: a.Reason, RequestedBy: a.RequestedBy, RequestedAt: ts(a.RequestedAt),
			ApprovedBy: a.ApprovedBy, ApprovedAt: ts(a.ApprovedAt), ParamsSHA256: a.ParamsSHA256, ExpiresAt: ts(a.ExpiresAt)},
	}
	switch action {
	case ApprovalRequested:
		ev.Actor, ev.At = a.RequestedBy, a.RequestedAt
	case ApprovalApproved:
		ev.Actor, ev.At = a.ApprovedBy, a.ApprovedAt
	default:
		ev.Actor, ev.At = a.RequestedBy, a.ConsumedAt
	}
	return ev
}

// WaivedApprovalEvent is the leaf logged where the two-person rule is
// waived for action on target by actor (single-operator dev mode), so an
// auditor sees the waiver where an approval's use would be.
func WaivedApprovalEvent(action, target, actor string, at time.Time) Event {
	return Event{
		Kind: translog.KindAdmin, Action: ApprovalWaived, Subject: action + " " + target, Actor: actor, At: at,
		Detail: struct {
			ParamsSHA256 string `json:"params_sha256"`
		}{auth.ApprovalParamsSHA256(action, target)},
	}
}

package server

import (
	"context"
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/ledger"
)

// Actions that need a second security admin's approval. Their targets are
// canonical parameter sets (ledger.RevokeKeyApprovalTarget and siblings):
// an approval binds every parameter of the action.
const (
	ActionRotateCAKey      = ledger.ActionRotateCAKey
	ActionRevokeKey        = ledger.ActionRevokeKey
	ActionRevokeCA         = ledger.ActionRevokeCA
	ActionRevokeSigningCrt = ledger.ActionRevokeSigningCrt
)

type approvalService struct {
	signerv1.UnimplementedApprovalServiceServer
	cfg *Config
}

// RequestApproval implements signerv1.ApprovalServiceServer.
func (s *approvalService) RequestApproval(ctx context.Context, req *signerv1.RequestApprovalRequest) (*signerv1.RequestApprovalResponse, error) {
	id, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	switch req.GetAction() {
	case ActionRotateCAKey, ActionRevokeKey, ActionRevokeCA, ActionRevokeSigningCrt:
	default:
		return nil, invalidArg("action %q: use %s, %s, %s or %s", req.GetAction(),
			ActionRotateCAKey, ActionRevokeKey, ActionRevokeCA, ActionRevokeSigningCrt)
	}
	a, err := s.cfg.Approvals.Request(ctx, id, auth.ApprovalRequest{Action: req.GetAction(), Target: req.GetTarget(), Reason: req.GetReason()})
	if err != nil {
		return nil, err
	}
	return &signerv1.RequestApprovalResponse{Approval: approvalProto(a)}, nil
}

// Approve implements signerv1.ApprovalServiceServer.
func (s *approvalService) Approve(ctx context.Context, req *signerv1.ApproveRequest) (*signerv1.ApproveResponse, error) {
	id, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	if want := req.GetParamsSha256(); want != "" {
		cur, err := s.cfg.Approvals.Get(ctx, req.GetId())
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(cur.ParamsSHA256, want) {
			return nil, clientErrorf(codes.FailedPrecondition,
				"approval %s has parameters' hash %s, not the %s you reviewed: nothing was approved; show it again (signerctl approval show) and check its target",
				cur.ID, cur.ParamsSHA256, want)
		}
	}
	a, err := s.cfg.Approvals.Approve(ctx, id, req.GetId())
	if err != nil {
		return nil, err
	}
	return &signerv1.ApproveResponse{Approval: approvalProto(a)}, nil
}

// GetApproval implements signerv1.ApprovalServiceServer.
func (s *approvalService) GetApproval(ctx context.Context, req *signerv1.GetApprovalRequest) (*signerv1.GetApprovalResponse, error) {
	a, err := s.cfg.Approvals.Get(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return &signerv1.GetApprovalResponse{Approval: approvalProto(a)}, nil
}

// identity is the authenticated caller; every approval names its people.
func identity(ctx context.Context) (auth.Identity, error) {
	id, ok := auth.IdentityFromContext(ctx)
	if !ok {
		return auth.Identity{}, auth.ErrNoCredentials
	}
	return id, nil
}

// requireApproval uses up the approval named by approvalID for action on
// target, or explains what is missing. target is the canonical form of
// every parameter of the action (auth.ApprovalTarget), computed from the
// request being authorized: an approval for any other parameters does not
// match. It runs before the action, so an approval is never used twice
// even if the action then fails.
func (c *Config) requireApproval(ctx context.Context, approvalID, action, target string) error {
	if c.SingleOperator {
		c.Logger.WarnContext(ctx, "two-person approval waived (single-operator dev mode)", "action", action, "target", target)
		// The waiver is logged where an approval's use would be, so the
		// log shows that one person did this.
		if _, err := c.Ledger.AppendEvent(ctx, ledger.WaivedApprovalEvent(action, target, c.Caller(ctx), c.Now())); err != nil {
			return err
		}
		return nil
	}
	if c.Approvals == nil {
		return clientErrorf(codes.FailedPrecondition, "%s needs a two-person approval, and this server has no approval store configured", action)
	}
	if approvalID == "" {
		return clientErrorf(codes.FailedPrecondition,
			"%s needs a second security admin, who approves exactly these parameters: run signerctl approval request --action %s --target '%s', have another security admin approve it, then repeat this command unchanged (the same times, reason and options) with --approval ID",
			action, action, target)
	}
	id, err := identity(ctx)
	if err != nil {
		return err
	}
	if _, err := c.Approvals.Consume(ctx, id, approvalID, action, target); err != nil {
		if errors.Is(err, auth.ErrApprovalMismatch) {
			return clientErrorf(codes.FailedPrecondition,
				"approval %s is not for these parameters: this request needs action %s with target '%s' (an approval binds the target, effective time, reason and every option); nothing was done",
				approvalID, action, target)
		}
		return err
	}
	return nil
}

func approvalProto(a auth.Approval) *signerv1.Approval {
	ts := func(t time.Time) *timestamppb.Timestamp {
		if t.IsZero() {
			return nil
		}
		return timestamppb.New(t)
	}
	return &signerv1.Approval{
		Id: a.ID, Action: a.Action, Target: a.Target, Reason: a.Reason, ParamsSha256: a.ParamsSHA256,
		RequestedBy: a.RequestedBy, RequestedAt: ts(a.RequestedAt), ExpiresAt: ts(a.ExpiresAt),
		ApprovedBy: a.ApprovedBy, ApprovedAt: ts(a.ApprovedAt), ConsumedAt: ts(a.ConsumedAt),
	}
}

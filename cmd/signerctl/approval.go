package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

func newApprovalCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "approval",
		Short: "Two-person rule: request, approve and show approvals (security-admin)",
		Long: `The most dangerous actions need two security admins: one requests an approval
for an action on a target, a different one approves it, and the action then
names the approval (e.g. signerctl key rotate --approval ID NAME), which uses
it up. Actions: rotate-ca-key, revoke-key, revoke-ca-certificate,
revoke-signing-certificate.

An approval binds every parameter of the action: its target is the
canonical form of all of them (what is acted on, effective time, reason,
backend, options), and the action must be run with exactly those. Run the
action once without --approval: it prints the exact request command. The
approver reviews the target with "approval show" and approves with
--params-sha256 set to the hash shown, so that what is approved is exactly
what was reviewed.`,
	}
	var action, target, reason, paramsSHA256 string
	var cRequest, cApprove, cShow client
	request := &cobra.Command{
		Use:   "request --server ADDR --action ACTION --target TARGET [--reason TEXT]",
		Short: "Open an approval for one action on one target",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return approvalCall(cmd, &cRequest, "request approval", func(ctx context.Context, a signerv1.ApprovalServiceClient) (*signerv1.RequestApprovalResponse, error) {
				return a.RequestApproval(ctx, &signerv1.RequestApprovalRequest{Action: action, Target: target, Reason: reason})
			})
		},
	}
	addConnFlags(request, &cRequest)
	request.Flags().StringVar(&action, "action", "", "rotate-ca-key, revoke-key, revoke-ca-certificate or revoke-signing-certificate")
	request.Flags().StringVar(&target, "target", "", "the action's parameters, exactly as the action printed them")
	request.Flags().StringVar(&reason, "reason", "", "why, for the record")
	requireFlags(request, "action", "target")
	completeValues(request, "action", "rotate-ca-key", "revoke-key", "revoke-ca-certificate", "revoke-signing-certificate")

	approve := &cobra.Command{
		Use:   "approve --server ADDR [--params-sha256 HEX] ID",
		Short: "Approve an approval another admin requested",
		Args:  exactArgs(1, "one approval ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return approvalCall(cmd, &cApprove, "approve", func(ctx context.Context, a signerv1.ApprovalServiceClient) (*signerv1.ApproveResponse, error) {
				return a.Approve(ctx, &signerv1.ApproveRequest{Id: args[0], ParamsSha256: paramsSHA256})
			})
		},
	}
	addConnFlags(approve, &cApprove)
	approve.Flags().StringVar(&paramsSHA256, "params-sha256", "", "approve only if the approval's parameters' hash is this one (as shown by approval show)")

	show := &cobra.Command{
		Use:   "show --server ADDR ID",
		Short: "Show one approval",
		Args:  exactArgs(1, "one approval ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return approvalCall(cmd, &cShow, "show approval", func(ctx context.Context, a signerv1.ApprovalServiceClient) (*signerv1.GetApprovalResponse, error) {
				return a.GetApproval(ctx, &signerv1.GetApprovalRequest{Id: args[0]})
			})
		},
	}
	addConnFlags(show, &cShow)
	cmd.AddCommand(request, approve, show)
	return cmd
}

// approvalCall makes one ApprovalService call and prints the approval it
// answers.
func approvalCall[R interface{ GetApproval() *signerv1.Approval }](cmd *cobra.Command, c *client, what string, call func(context.Context, signerv1.ApprovalServiceClient) (R, error)) error {
	return c.with(cmd.Context(), what, func(ctx context.Context, conn *grpc.ClientConn) error {
		resp, err := call(ctx, signerv1.NewApprovalServiceClient(conn))
		if err != nil {
			return err
		}
		printApproval(cmd.OutOrStdout(), resp.GetApproval())
		return nil
	})
}

func printApproval(w io.Writer, a *signerv1.Approval) {
	at := func(ts *timestamppb.Timestamp) string {
		if ts == nil {
			return "-"
		}
		return ts.AsTime().UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(w, "approval %s\n  action:       %s\n  target:       %s\n  params hash:  %s\n  reason:       %s\n  requested by: %s at %s (expires %s)\n  approved by:  %s at %s\n  used at:      %s\n",
		a.GetId(), a.GetAction(), a.GetTarget(), a.GetParamsSha256(), a.GetReason(), a.GetRequestedBy(), at(a.GetRequestedAt()), at(a.GetExpiresAt()),
		orDash(a.GetApprovedBy()), at(a.GetApprovedAt()), at(a.GetConsumedAt()))
}

package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
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
it up. Actions: rotate-ca-key, revoke-key, revoke-ca-certificate.`,
	}
	var server, action, target, reason string
	request := &cobra.Command{
		Use:   "request --server ADDR --action ACTION --target TARGET [--reason TEXT]",
		Short: "Open an approval for one action on one target",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if action == "" || target == "" {
				return usagef("--action and --target are required")
			}
			conn, err := dial(server)
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := signerv1.NewApprovalServiceClient(conn).RequestApproval(cmd.Context(), &signerv1.RequestApprovalRequest{Action: action, Target: target, Reason: reason})
			if err != nil {
				return rpcError("request approval", err)
			}
			printApproval(cmd.OutOrStdout(), resp.GetApproval())
			return nil
		},
	}
	serverFlag(request, &server)
	request.Flags().StringVar(&action, "action", "", "rotate-ca-key, revoke-key or revoke-ca-certificate")
	request.Flags().StringVar(&target, "target", "", "what the action applies to (a key name, a certificate serial)")
	request.Flags().StringVar(&reason, "reason", "", "why, for the record")

	approve := &cobra.Command{
		Use:   "approve --server ADDR ID",
		Short: "Approve an approval another admin requested",
		Args:  exactArgs(1, "one approval ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := dial(server)
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := signerv1.NewApprovalServiceClient(conn).Approve(cmd.Context(), &signerv1.ApproveRequest{Id: args[0]})
			if err != nil {
				return rpcError("approve", err)
			}
			printApproval(cmd.OutOrStdout(), resp.GetApproval())
			return nil
		},
	}
	serverFlag(approve, &server)

	show := &cobra.Command{
		Use:   "show --server ADDR ID",
		Short: "Show one approval",
		Args:  exactArgs(1, "one approval ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := dial(server)
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := signerv1.NewApprovalServiceClient(conn).GetApproval(cmd.Context(), &signerv1.GetApprovalRequest{Id: args[0]})
			if err != nil {
				return rpcError("show approval", err)
			}
			printApproval(cmd.OutOrStdout(), resp.GetApproval())
			return nil
		},
	}
	serverFlag(show, &server)
	cmd.AddCommand(request, approve, show)
	return cmd
}

func printApproval(w io.Writer, a *signerv1.Approval) {
	at := func(ts *timestamppb.Timestamp) string {
		if ts == nil {
			return "-"
		}
		return ts.AsTime().UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(w, "approval %s\n  action:       %s\n  target:       %s\n  reason:       %s\n  requested by: %s at %s (expires %s)\n  approved by:  %s at %s\n  used at:      %s\n",
		a.GetId(), a.GetAction(), a.GetTarget(), a.GetReason(), a.GetRequestedBy(), at(a.GetRequestedAt()), at(a.GetExpiresAt()),
		orDash(a.GetApprovedBy()), at(a.GetApprovedAt()), at(a.GetConsumedAt()))
}

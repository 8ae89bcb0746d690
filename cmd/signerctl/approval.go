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
	var server, action, target, reason, paramsSHA256 string
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
	request.Flags().StringVar(&action, "action", "", "rotate-ca-key, revoke-key, revoke-ca-certificate or revoke-signing-certificate")
	request.Flags().StringVar(&target, "target", "", "the action's parameters, exactly as the action printed them")
	request.Flags().StringVar(&reason, "reason", "", "why, for the record")

	approve := &cobra.Command{
		Use:   "approve --server ADDR [--params-sha256 HEX] ID",
		Short: "Approve an approval another admin requested",
		Args:  exactArgs(1, "one approval ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := dial(server)
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := signerv1.NewApprovalServiceClient(conn).Approve(cmd.Context(), &signerv1.ApproveRequest{Id: args[0], ParamsSha256: paramsSHA256})
			if err != nil {
				return rpcError("approve", err)
			}
			printApproval(cmd.OutOrStdout(), resp.GetApproval())
			return nil
		},
	}
	serverFlag(approve, &server)
	approve.Flags().StringVar(&paramsSHA256, "params-sha256", "", "approve only if the approval's parameters' hash is this one (as shown by approval show)")

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
	fmt.Fprintf(w, "approval %s\n  action:       %s\n  target:       %s\n  params hash:  %s\n  reason:       %s\n  requested by: %s at %s (expires %s)\n  approved by:  %s at %s\n  used at:      %s\n",
		a.GetId(), a.GetAction(), a.GetTarget(), a.GetParamsSha256(), a.GetReason(), a.GetRequestedBy(), at(a.GetRequestedAt()), at(a.GetExpiresAt()),
		orDash(a.GetApprovedBy()), at(a.GetApprovedAt()), at(a.GetConsumedAt()))
}

package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/translog"
)

func newLedgerCheckpointCommand() *cobra.Command {
	var out, ledgerKey string
	var c client
	cmd := &cobra.Command{
		Use:   "checkpoint --server ADDR [--ledger-key VKEY] [--out FILE]",
		Short: "Fetch, check and print the latest signed checkpoint and the ledger key",
		Long: `Checkpoint fetches the latest signed checkpoint, checks its signature (with
--ledger-key if given, else with the key the server announces) and prints it
with the ledger's note verifier key, which auditors pin with --ledger-key.
--out saves the checkpoint for a later ` + "`ledger verify --checkpoint`.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := unary(cmd.Context(), &c, "get checkpoint", func(ctx context.Context, conn *grpc.ClientConn) (*signerv1.GetCheckpointResponse, error) {
				return signerv1.NewLedgerServiceClient(conn).GetCheckpoint(ctx, &signerv1.GetCheckpointRequest{})
			})
			if err != nil {
				return err
			}
			origin, verifiers, err := ledgerVerifiers(ledgerKey, resp, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if _, err := translog.OpenCheckpoint(resp.GetCheckpoint(), origin, verifiers); err != nil {
				return withCode(exitLedgerBad, fmt.Errorf("the checkpoint does not verify: %w", err))
			}
			if out != "" {
				if err := os.WriteFile(out, resp.GetCheckpoint(), 0o644); err != nil {
					return err
				}
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "ledger key: %s\nlog size (sequenced): %d\n\n%s", resp.GetVerifierKey(), resp.GetLogSize(), resp.GetCheckpoint())
			return nil
		},
	}
	addConnFlags(cmd, &c)
	cmd.Flags().StringVar(&out, "out", "", "save the checkpoint to this file")
	cmd.Flags().StringVar(&ledgerKey, "ledger-key", os.Getenv("SIGNER_LEDGER_KEY"), "pinned ledger key (note verifier key) ($SIGNER_LEDGER_KEY)")
	return cmd
}

func newLedgerProveCommand() *cobra.Command {
	var ledgerKey string
	var c client
	var treeSize int64
	cmd := &cobra.Command{
		Use:   "prove --server ADDR LOG-INDEX",
		Short: "Prove that a log leaf is in the signed tree",
		Long: `Prove fetches the inclusion proof of the leaf at LOG-INDEX (a ledger entry's
log index) in the latest signed checkpoint (or --tree-size), checks the
checkpoint's signature and the proof (RFC 6962, golang.org/x/mod/sumdb/tlog),
and prints the leaf. Exit status 10 when either fails.`,
		Args: exactArgs(1, "one log index"),
		RunE: func(cmd *cobra.Command, args []string) error {
			index, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || index < 0 {
				return usagef("log index %q: want a number 0 or more", args[0])
			}
			return c.with(cmd.Context(), "prove", func(ctx context.Context, conn *grpc.ClientConn) error {
				client := signerv1.NewLedgerServiceClient(conn)
				latest, err := client.GetCheckpoint(ctx, &signerv1.GetCheckpointRequest{})
				if err != nil {
					return rpcError("get checkpoint", err)
				}
				origin, verifiers, err := ledgerVerifiers(ledgerKey, latest, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				resp, err := client.GetInclusionProof(ctx, &signerv1.GetInclusionProofRequest{LogIndex: index, TreeSize: treeSize})
				if err != nil {
					return rpcError("get inclusion proof", err)
				}
				cp, err := translog.OpenCheckpoint(resp.GetCheckpoint(), origin, verifiers)
				if err != nil {
					return withCode(exitLedgerBad, fmt.Errorf("the checkpoint does not verify: %w", err))
				}
				proof, err := hashesOf(resp.GetProof())
				if err != nil {
					return withCode(exitLedgerBad, err)
				}
				if err := tlog.CheckRecord(proof, cp.Tree.N, cp.Tree.Hash, index, tlog.RecordHash(resp.GetLeaf())); err != nil {
					return withCode(exitLedgerBad, fmt.Errorf("leaf %d is not in the signed tree of %d leaves: %w", index, cp.Tree.N, err))
				}
				leaf, err := translog.DecodeLeaf(resp.GetLeaf())
				if err != nil {
					return withCode(exitLedgerBad, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "leaf %d is in the signed tree of %d leaves (root %x)\nkind: %s\nlogged at: %s\npayload: %s\n",
					index, cp.Tree.N, cp.Tree.Hash[:], leaf.Kind, leaf.At.Format("2006-01-02T15:04:05.000000Z"), leaf.Payload)
				return nil
			})
		},
	}
	addConnFlags(cmd, &c)
	cmd.Flags().Int64Var(&treeSize, "tree-size", 0, "prove against the stored checkpoint of this size (0 = latest)")
	cmd.Flags().StringVar(&ledgerKey, "ledger-key", os.Getenv("SIGNER_LEDGER_KEY"), "pinned ledger key (note verifier key) ($SIGNER_LEDGER_KEY)")
	return cmd
}

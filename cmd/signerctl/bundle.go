package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/chain"
)

func newBundleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Work with trust bundles (the CA certificates customers trust)",
	}
	cmd.AddCommand(newBundleGetCommand(), newBundleExportCommand(), newBundleVerifyCommand(), newBundleDiffCommand(), newBundleInstallCommand())
	return cmd
}

func newBundleGetCommand() *cobra.Command {
	var out string
	var c client
	cmd := &cobra.Command{
		Use:   "get --server ADDR --out DIR",
		Short: "Fetch the trust bundle and write its PEM files into a trust-store folder",
		Long: `Fetch the root and intermediate CA certificates from the signer and write
each as a read-only PEM file into DIR (created if missing). The SHA-256 the
server reports for each file is checked before anything is written.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := unary(cmd.Context(), &c, "get trust bundle", func(ctx context.Context, conn *grpc.ClientConn) (*signerv1.GetTrustBundleResponse, error) {
				return signerv1.NewSignerServiceClient(conn).GetTrustBundle(ctx, &signerv1.GetTrustBundleRequest{})
			})
			if err != nil {
				return err
			}
			var certs []chain.TrustCert
			for _, tc := range resp.GetCertificates() {
				sum := sha256.Sum256([]byte(tc.GetPem()))
				if hex.EncodeToString(sum[:]) != tc.GetSha256() {
					return fmt.Errorf("bundle file %s: SHA-256 does not match what the server reported; nothing written", tc.GetFileName())
				}
				c, err := chain.ParseCertificatePEM([]byte(tc.GetPem()))
				if err != nil {
					return fmt.Errorf("bundle file %s: %w", tc.GetFileName(), err)
				}
				if !c.IsCA {
					return fmt.Errorf("bundle file %s is not a CA certificate; nothing written", tc.GetFileName())
				}
				certs = append(certs, chain.TrustCert{FileName: tc.GetFileName(), PEM: tc.GetPem(), Role: tc.GetRole(), Cert: c})
			}
			if len(certs) == 0 {
				return fmt.Errorf("server returned an empty trust bundle")
			}
			if err := chain.WriteTrustStore(out, certs); err != nil {
				return err
			}
			for _, c := range certs {
				fmt.Fprintf(cmd.OutOrStdout(), "%s  %-12s %s (expires %s)\n", c.FileName, c.Role, c.Cert.Subject, c.Cert.NotAfter.Format("2006-01-02"))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d certificate(s) to %s\n", len(certs), out)
			return nil
		},
	}
	addConnFlags(cmd, &c)
	cmd.Flags().StringVar(&out, "out", "", "trust-store folder to write")
	requireFlags(cmd, "out")
	return cmd
}

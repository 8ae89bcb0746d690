package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms/softkms"
)

func newVendorCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vendor",
		Short: "Private builds: a vendor's own key, certified by the marketplace for its app keys",
	}
	cmd.AddCommand(newVendorKeygenCommand(), newVendorCertifyCommand())
	return cmd
}

func newVendorKeygenCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen --out FILE",
		Short: "Create a vendor's Ed25519 private-build key (PKCS#8 PEM, mode 0600)",
		Long: `Create a new Ed25519 key in FILE (mode 0600, never overwritten). The key
stays with the vendor: ` + "`signerctl vendor certify`" + ` sends only a certificate
request signed with it.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return err
			}
			defer clear(priv)
			if err := softkms.WriteKeyFile(out, priv); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (private key, 0600)\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "key file to create")
	requireFlags(cmd, "out")
	return cmd
}

func newVendorCertifyCommand() *cobra.Command {
	var key, outCert, outChain string
	var c client
	var appKeys []string
	var validity time.Duration
	cmd := &cobra.Command{
		Use:   "certify --server ADDR --key FILE --app-key KEY [--app-key KEY…] --out-cert FILE [--out-chain FILE]",
		Short: "Get a short-lived private-build certificate for your key, scoped to your app keys",
		Long: `Send a certificate request (PKCS#10, signed with the key in FILE, which never
leaves this machine) to the signer and write the private-build certificate it
issues: a code-signing certificate under the marketplace's private-build CA,
valid for --validity (default 7 days, at most 30), that may sign only the
named app keys (URI SANs urn:appsign:app-key:<key>). Only vendor identities
get one, and only for app keys their policy entry lists; the certificate is
recorded by the signer before it is returned.

Then sign private builds offline:
  signerctl sign --key FILE --cert CERT --chain CHAIN --out app.jar.sig app.jar
Customers need no trust-store change: the chain ends at the marketplace root.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			priv, err := softkms.ReadKeyFile(key)
			if err != nil {
				return withCode(exitError, fmt.Errorf("vendor key: %w", err))
			}
			defer clear(priv)
			csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "private build"}}, priv)
			if err != nil {
				return fmt.Errorf("certificate request: %w", err)
			}
			req := &signerv1.IssueVendorCertificateRequest{Csr: csr, AppKeys: appKeys}
			if validity != 0 {
				req.Validity = durationpb.New(validity)
			}
			resp, err := unary(cmd.Context(), &c, "issue vendor certificate", func(ctx context.Context, conn *grpc.ClientConn) (*signerv1.IssueVendorCertificateResponse, error) {
				return signerv1.NewTrustServiceClient(conn).IssueVendorCertificate(ctx, req)
			})
			if err != nil {
				return err
			}
			cert, err := chain.ParseCertificatePEM([]byte(resp.GetCertificatePem()))
			if err != nil {
				return fmt.Errorf("server returned no usable certificate; nothing written: %w", err)
			}
			if pub, ok := cert.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(priv.Public()) {
				return fmt.Errorf("server returned a certificate for another key; nothing written")
			}
			if err := os.WriteFile(outCert, []byte(resp.GetCertificatePem()), 0o644); err != nil {
				return err
			}
			if outChain != "" {
				if err := os.WriteFile(outChain, []byte(resp.GetChainPem()), 0o644); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "private-build certificate for vendor %s, app keys %v, serial %s, valid until %s: wrote %s\n",
				resp.GetVendor(), resp.GetAppKeys(), resp.GetSerial(), resp.GetNotAfter().AsTime().Format(time.RFC3339), outCert)
			return nil
		},
	}
	addConnFlags(cmd, &c)
	f := cmd.Flags()
	f.StringVar(&key, "key", "", "your Ed25519 key file (PKCS#8 PEM; from vendor keygen)")
	f.StringArrayVar(&appKeys, "app-key", nil, "app key the certificate may sign (repeat for several)")
	f.StringVar(&outCert, "out-cert", "", "file to write the certificate to (PEM)")
	f.StringVar(&outChain, "out-chain", "", "file to write the private-build CA certificate to (PEM)")
	f.DurationVar(&validity, "validity", 0, "certificate lifetime (default 7 days, at most 30 days)")
	requireFlags(cmd, "key", "app-key", "out-cert")
	return cmd
}

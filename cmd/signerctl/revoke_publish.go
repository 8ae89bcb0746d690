package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/revocation"
)

// publishFlags are the flags of the commands that have the server sign the
// next revocation list or CRL, or fetch the latest one.
type publishFlags struct {
	out    string
	next   time.Duration
	latest bool
}

func (p *publishFlags) add(cmd *cobra.Command, what, outUsage string) {
	f := cmd.Flags()
	f.StringVar(&p.out, "out", "", outUsage)
	requireFlags(cmd, "out")
	f.DurationVar(&p.next, "next-update", 7*24*time.Hour, "how long the "+what+" stays fresh (at most 90 days)")
	f.BoolVar(&p.latest, "latest", false, "fetch the latest "+what+" instead of issuing a new one")
}

func newRevokePublishCommand() *cobra.Command {
	var p publishFlags
	var c client
	cmd := &cobra.Command{
		Use:   "publish --server ADDR [--next-update DURATION] --out FILE",
		Short: "Sign the next revocation list version and write it (revocation.json)",
		Long: `Have the signer build the next version of the revocation list from every
recorded revocation, sign it with the revocation signer and keep it; write it
to FILE. Ship it in the next trust bundle (bundle export --revocation-list).
With --latest, fetch the latest published list instead of publishing one.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.with(cmd.Context(), "publish revocation list", func(ctx context.Context, conn *grpc.ClientConn) error {
				client := signerv1.NewTrustServiceClient(conn)
				var data []byte
				var version uint64
				var issued, nextUpdate time.Time
				if p.latest {
					resp, err := client.GetRevocationList(ctx, &signerv1.GetRevocationListRequest{})
					if err != nil {
						return rpcError("get revocation list", err)
					}
					data, version, issued, nextUpdate = resp.GetRevocationList(), resp.GetVersion(), resp.GetIssuedAt().AsTime(), resp.GetNextUpdate().AsTime()
				} else {
					resp, err := client.PublishRevocationList(ctx, &signerv1.PublishRevocationListRequest{NextUpdate: durationpb.New(p.next)})
					if err != nil {
						return rpcError("publish revocation list", err)
					}
					data, version, issued, nextUpdate = resp.GetRevocationList(), resp.GetVersion(), resp.GetIssuedAt().AsTime(), resp.GetNextUpdate().AsTime()
				}
				if err := os.WriteFile(p.out, data, 0o644); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revocation list version %d, issued %s, next update %s: wrote %s\n",
					version, issued.Format(time.RFC3339), nextUpdate.Format(time.RFC3339), p.out)
				return nil
			})
		},
	}
	addConnFlags(cmd, &c)
	p.add(cmd, "list", "file to write the signed list to")
	return cmd
}

func newRevokeCRLCommand() *cobra.Command {
	var ca string
	var p publishFlags
	var c client
	cmd := &cobra.Command{
		Use:   "crl --server ADDR --ca NAME [--next-update DURATION] --out FILE",
		Short: "Issue the next X.509 CRL of a CA (root, marketplace, private-build)",
		Long: `Have the CA (by name: root, marketplace or private-build) sign its next CRL:
the certificates it issued that are revoked, each from its effective time.
Written as DER; check it with
  openssl crl -inform DER -in FILE -CAfile CA.pem -noout
With --latest, fetch the CA's latest CRL instead of issuing one.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.with(cmd.Context(), "issue crl", func(ctx context.Context, conn *grpc.ClientConn) error {
				client := signerv1.NewTrustServiceClient(conn)
				var der []byte
				var number int64
				if p.latest {
					resp, err := client.GetCrl(ctx, &signerv1.GetCrlRequest{Ca: ca})
					if err != nil {
						return rpcError("get crl", err)
					}
					der, number = resp.GetCrl(), resp.GetNumber()
				} else {
					resp, err := client.IssueCrl(ctx, &signerv1.IssueCrlRequest{Ca: ca, NextUpdate: durationpb.New(p.next)})
					if err != nil {
						return rpcError("issue crl", err)
					}
					der, number = resp.GetCrl(), resp.GetNumber()
				}
				if err := os.WriteFile(p.out, der, 0o644); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "CRL number %d of CA %s: wrote %s\n", number, ca, p.out)
				return nil
			})
		},
	}
	addConnFlags(cmd, &c)
	cmd.Flags().StringVar(&ca, "ca", "", "CA name: root, marketplace or private-build")
	requireFlags(cmd, "ca")
	completeValues(cmd, "ca", "root", "marketplace", "private-build")
	p.add(cmd, "CRL", "file to write the DER CRL to")
	return cmd
}

func newRevokeShowCommand() *cobra.Command {
	var truststore string
	cmd := &cobra.Command{
		Use:   "show --truststore DIR FILE",
		Short: "Verify a signed revocation list against a trust store and print it",
		Args:  exactArgs(1, "one revocation list FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := chain.LoadTrustStore(truststore)
			if err != nil {
				return withCode(exitMalformed, err)
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return withCode(exitError, err)
			}
			l, signer, err := revocation.VerifyTrusted(b, ts.Roots(), ts.Intermediates(), time.Now())
			if l == nil {
				return revocationFailure(err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "revocation list %q version %d, issued %s, next update %s, signed by %q\n",
				l.Issuer, l.Version, l.IssuedAt.Format(time.RFC3339), l.NextUpdate.Format(time.RFC3339), signer.Subject.String())
			for _, a := range l.Archives {
				fmt.Fprintf(w, "  archive %s (%s), ledger entry %d\n", a.SHA256, a.Reason, a.LedgerEntryID)
			}
			for _, c := range l.Certificates {
				fmt.Fprintf(w, "  certificate %q serial %s (%s) from %s%s\n", c.Issuer, c.Serial, c.Reason, c.EffectiveFrom.Format(time.RFC3339Nano), exactNote(c.Exact, len(c.Valid)))
			}
			for _, k := range l.Keys {
				fmt.Fprintf(w, "  key %s (%s) from %s%s\n", k.Fingerprint, k.Reason, k.EffectiveFrom.Format(time.RFC3339Nano), exactNote(k.Exact, len(k.Valid)))
			}
			if errors.Is(err, revocation.ErrStale) {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %v\n", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&truststore, "truststore", "", "trust-store folder whose roots the list signer must chain to")
	requireFlags(cmd, "truststore")
	return cmd
}

// exactNote says how an entry treats signatures made before its time.
func exactNote(exact bool, valid int) string {
	if !exact {
		return ", not exact (earlier signatures need a trusted signing time)"
	}
	return fmt.Sprintf(", exact: the %d signature(s) logged before then stay valid, offline too", valid)
}

// revocationFailure gives a revocation-list error its exit status.
func revocationFailure(err error) error {
	switch {
	case errors.Is(err, revocation.ErrBadSignature):
		return withCode(exitBadSig, err)
	case errors.Is(err, revocation.ErrUntrusted):
		return withCode(exitUntrusted, err)
	case errors.Is(err, revocation.ErrExpired):
		return withCode(exitExpired, err)
	case errors.Is(err, revocation.ErrMalformed):
		return withCode(exitMalformed, err)
	case errors.Is(err, revocation.ErrRollback), errors.Is(err, revocation.ErrStale), errors.Is(err, revocation.ErrRevoked):
		return withCode(exitRevoked, err)
	}
	return err
}

package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/revocation"
)

func newRevokeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke signatures, certificates and keys; publish revocation lists and CRLs",
		Long: `Every revocation is recorded by the signer with exactly the ledger signatures
it revokes. Revoking a certificate or key again can only move its effective
time earlier. Customers learn about revocations from the signed revocation
list (revoke publish) and the CAs' CRLs (revoke crl), shipped in trust bundles.

Reasons: ` + reasonList() + `.`,
	}
	cmd.AddCommand(newRevokeSignatureCommand(), newRevokeCertCommand(), newRevokeKeyCommand(), newRevokeListCommand(),
		newRevokePublishCommand(), newRevokeCRLCommand(), newRevokeShowCommand())
	return cmd
}

// reasons are the revocation reasons the server accepts.
func reasons() []string {
	var names []string
	for _, r := range revocation.Reasons() {
		names = append(names, string(r))
	}
	return names
}

func reasonList() string { return strings.Join(reasons(), ", ") }

func newRevokeSignatureCommand() *cobra.Command {
	var sha, reason, output string
	var c client
	var entry int64
	cmd := &cobra.Command{
		Use:   "signature --server ADDR (--ledger-entry ID | --sha256 HEX) --reason R",
		Short: "Revoke every signature over one archive",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &signerv1.RevokeSignatureRequest{Reason: reason}
			// Exactly one of the two is set (a flag group).
			if sha != "" {
				b, err := hex.DecodeString(sha)
				if err != nil || len(b) != 32 {
					return usagef("--sha256: want 64 hex digits")
				}
				req.Target = &signerv1.RevokeSignatureRequest_Sha256{Sha256: b}
			} else if entry > 0 {
				req.Target = &signerv1.RevokeSignatureRequest_LedgerEntryId{LedgerEntryId: entry}
			} else {
				return usagef("--ledger-entry %d: want a positive entry id", entry)
			}
			return c.with(cmd.Context(), "revoke signature", func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := signerv1.NewTrustServiceClient(conn).RevokeSignature(ctx, req)
				return printRevoked(cmd, output, resp, err)
			})
		},
	}
	addConnFlags(cmd, &c)
	f := cmd.Flags()
	f.Int64Var(&entry, "ledger-entry", 0, "ledger entry id of the signature")
	f.StringVar(&sha, "sha256", "", "SHA-256 of the archive, hex")
	f.StringVar(&reason, "reason", "", "why: "+reasonList())
	completeValues(cmd, "reason", reasons()...)
	addOutputFlag(cmd, &output, "text", "json")
	requireFlags(cmd, "reason")
	exactlyOne(cmd, "ledger-entry", "sha256")
	return cmd
}

func newRevokeCertCommand() *cobra.Command {
	var certFile, issuer, serial, from, reason, output, approval string
	var c client
	cmd := &cobra.Command{
		Use:   "cert --server ADDR (--cert FILE | --issuer DN --serial HEX) --effective-from TIME --reason R",
		Short: "Revoke a signing, vendor or CA certificate from a time on",
		Long: `Revoke a certificate from --effective-from (RFC 3339, or "now") on: signatures
made under it at or after that time are revoked, and for a CA everything it
issued. The signatures this revokes are listed.

Revoking a CA certificate needs a second security admin: request an approval
for action revoke-ca-certificate on the serial (lowercase hex, no leading
zeros), have another admin approve it, and pass its id with --approval.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := parseEffective(from)
			if err != nil {
				return err
			}
			req := &signerv1.RevokeCertificateRequest{EffectiveFrom: t, Reason: reason, Issuer: issuer, Serial: serial, ApprovalId: approval}
			// --cert, or --issuer with --serial (flag groups).
			if certFile != "" {
				if req.Certificate, err = os.ReadFile(certFile); err != nil {
					return withCode(exitError, err)
				}
			}
			return c.with(cmd.Context(), "revoke certificate", func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := signerv1.NewTrustServiceClient(conn).RevokeCertificate(ctx, req)
				return printRevoked(cmd, output, resp, err)
			})
		},
	}
	addConnFlags(cmd, &c)
	f := cmd.Flags()
	f.StringVar(&certFile, "cert", "", "the certificate, PEM or DER")
	f.StringVar(&issuer, "issuer", "", "issuer DN, as openssl x509 -issuer -nameopt RFC2253 prints it")
	f.StringVar(&serial, "serial", "", "serial number, hex")
	f.StringVar(&approval, "approval", "", "approval id (required for a CA certificate: see `signerctl approval`)")
	f.StringVar(&from, "effective-from", "", `revoked from this time on: RFC 3339 or "now"`)
	f.StringVar(&reason, "reason", "", "why: "+reasonList())
	completeValues(cmd, "reason", reasons()...)
	addOutputFlag(cmd, &output, "text", "json")
	requireFlags(cmd, "effective-from")
	exactlyOne(cmd, "cert", "issuer")
	cmd.MarkFlagsRequiredTogether("issuer", "serial")
	cmd.MarkFlagsMutuallyExclusive("cert", "serial")
	return cmd
}

// parseEffective reads an effective time: RFC 3339 or "now".
func parseEffective(s string) (*timestamppb.Timestamp, error) {
	if s == "now" {
		return timestamppb.Now(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, usagef("--effective-from %q: want RFC 3339, e.g. 2026-03-01T12:00:00Z, or now", s)
	}
	return timestamppb.New(t), nil
}

// revocationJSON is the JSON output of the revoke commands.
type revocationJSON struct {
	Revocation *signerv1.Revocation    `json:"revocation"`
	Changed    bool                    `json:"changed"`
	Affected   []*signerv1.LedgerEntry `json:"affected"`
	// AffectedTotal counts every signature the revocation covers; Affected
	// may list fewer (the server sends at most 10,000).
	AffectedTotal int64 `json:"affected_total"`
}

// affectedTotal is the number of signatures a revocation covers: the
// server's count, or the list's length from a server that sends no count.
func affectedTotal(total int64, affected []*signerv1.LedgerEntry) int64 {
	return max(total, int64(len(affected)))
}

// revocationResponse is what the revoke calls answer.
type revocationResponse interface {
	GetRevocation() *signerv1.Revocation
	GetAffected() []*signerv1.LedgerEntry
	GetAffectedTotal() int64
}

// printRevoked prints a revoke call's answer, or returns its error. A
// signature revocation has no "changed": it is always recorded anew.
func printRevoked(cmd *cobra.Command, output string, resp revocationResponse, err error) error {
	if err != nil {
		return err
	}
	changed := true
	if c, ok := resp.(interface{ GetChanged() bool }); ok {
		changed = c.GetChanged()
	}
	return printRevocation(cmd, output, resp.GetRevocation(), changed, resp.GetAffected(), resp.GetAffectedTotal())
}

func printRevocation(cmd *cobra.Command, output string, r *signerv1.Revocation, changed bool, affected []*signerv1.LedgerEntry, total int64) error {
	w := cmd.OutOrStdout()
	total = affectedTotal(total, affected)
	if output == "json" {
		return json.NewEncoder(w).Encode(revocationJSON{r, changed, affected, total})
	}
	printRevocationLine(w, r)
	if !changed {
		fmt.Fprintln(w, "  already revoked with this or an earlier effective time: nothing changed")
	}
	if total > int64(len(affected)) {
		fmt.Fprintf(w, "  %d signature(s) revoked; only the first %d are listed here (list them all with `signerctl ledger list --revoked yes`):\n", total, len(affected))
	} else {
		fmt.Fprintf(w, "  %d signature(s) revoked:\n", len(affected))
	}
	for _, e := range affected {
		fmt.Fprintf(w, "  entry %d  %s %s  (%s)  key %s v%d  signed %s  sha256 %x\n", e.GetId(), e.GetAppKey(), e.GetVersion(),
			strings.TrimPrefix(e.GetTrack().String(), "TRACK_"), e.GetKeyId(), e.GetKeyVersion(), e.GetSignedAt().AsTime().Format(time.RFC3339Nano), e.GetSha256())
	}
	return nil
}

func printRevocationLine(w io.Writer, r *signerv1.Revocation) {
	what := ""
	switch r.GetKind() {
	case signerv1.RevocationKind_REVOCATION_KIND_ARCHIVE:
		what = "archive " + r.GetArchiveSha256()
		if r.GetLedgerEntryId() != 0 {
			what += fmt.Sprintf(" (ledger entry %d)", r.GetLedgerEntryId())
		}
	case signerv1.RevocationKind_REVOCATION_KIND_CERTIFICATE:
		what = fmt.Sprintf("certificate %q serial %s", r.GetIssuer(), r.GetSerial())
	case signerv1.RevocationKind_REVOCATION_KIND_KEY:
		what = "key " + r.GetKeyFingerprint()
	}
	if r.GetSubject() != "" {
		what += fmt.Sprintf(" [%s]", r.GetSubject())
	}
	from := ""
	if r.GetEffectiveFrom() != nil {
		from = " effective from " + r.GetEffectiveFrom().AsTime().Format(time.RFC3339Nano)
	}
	fmt.Fprintf(w, "revocation %d: %s revoked (%s)%s, recorded %s by %s\n", r.GetId(), what, r.GetReason(), from,
		r.GetRevokedAt().AsTime().Format(time.RFC3339), r.GetRevokedBy())
}

func newRevokeListCommand() *cobra.Command {
	var output string
	var c client
	cmd := &cobra.Command{
		Use:   "list --server ADDR [--output text|json]",
		Short: "List every recorded revocation",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := unary(cmd.Context(), &c, "list revocations", func(ctx context.Context, conn *grpc.ClientConn) (*signerv1.ListRevocationsResponse, error) {
				return signerv1.NewTrustServiceClient(conn).ListRevocations(ctx, &signerv1.ListRevocationsRequest{})
			})
			if err != nil {
				return err
			}
			for _, r := range resp.GetRevocations() {
				if output == "json" {
					if err := json.NewEncoder(cmd.OutOrStdout()).Encode(r); err != nil {
						return err
					}
					continue
				}
				printRevocationLine(cmd.OutOrStdout(), r)
			}
			return nil
		},
	}
	addConnFlags(cmd, &c)
	addOutputFlag(cmd, &output, "text", "json")
	return cmd
}

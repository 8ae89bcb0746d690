package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

func newRevokeKeyCommand() *cobra.Command {
	var certFile, fingerprint, from, reason, output, resignDir, approval string
	var c client
	cmd := &cobra.Command{
		Use:   "key --server ADDR (--cert FILE | --fingerprint HEX) --effective-from TIME --reason R --approval ID [--resign-dir DIR]",
		Short: "Revoke a key from a time on, list the app versions it affects, optionally re-sign them",
		Long: `Revoke a key (every certificate for it) from --effective-from on and print
the app versions whose ledger signatures are revoked by it.

--resign-dir DIR re-signs them with the signing key active now (rotate the
compromised key first: signerctl key rotate NAME): every regular file in DIR
whose SHA-256 is that of an affected archive is streamed to the signer again
(same app key, version, track and review reference; a new idempotency key
derived from the revocation and the entry) and its signature file FILE.sig is
replaced. Affected versions with no archive in DIR are listed as not re-signed
and the command exits 1.

Revoking a key needs a second security admin: request an approval for
action revoke-key on the key's fingerprint (signerctl approval request),
have another admin approve it, and pass its id with --approval. signer dev
has a single operator and waives this.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := parseEffective(from)
			if err != nil {
				return err
			}
			req := &signerv1.RevokeKeyRequest{EffectiveFrom: t, Reason: reason, Fingerprint: fingerprint, ApprovalId: approval}
			// Exactly one of --cert and --fingerprint (a flag group).
			if certFile != "" {
				if req.Certificate, err = os.ReadFile(certFile); err != nil {
					return withCode(exitError, err)
				}
			}
			return c.with(cmd.Context(), "revoke key", func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := signerv1.NewTrustServiceClient(conn).RevokeKey(ctx, req)
				if err := printRevoked(cmd, output, resp, err); err != nil {
					return err
				}
				if resignDir == "" {
					return nil
				}
				affected := resp.GetAffected()
				if int64(len(affected)) < resp.GetAffectedTotal() {
					// The response lists a preview: page the ledger for all of them.
					affected = nil
					for e, err := range listEntries(ctx, signerv1.NewLedgerServiceClient(conn), &signerv1.ListEntriesRequest{RevocationId: resp.GetRevocation().GetId()}, 0) {
						if err != nil {
							return err
						}
						affected = append(affected, e)
					}
				}
				return resign(ctx, cmd, conn, resignDir, resp.GetRevocation().GetId(), affected, resp.GetAffectedTotal())
			})
		},
	}
	addConnFlags(cmd, &c)
	f := cmd.Flags()
	f.StringVar(&certFile, "cert", "", "a certificate for the key, PEM or DER")
	f.StringVar(&fingerprint, "fingerprint", "", "key fingerprint: hex SHA-256 of the DER SubjectPublicKeyInfo")
	f.StringVar(&from, "effective-from", "", `revoked from this time on: RFC 3339 or "now"`)
	f.StringVar(&reason, "reason", "", "why: "+reasonList())
	completeValues(cmd, "reason", reasons()...)
	addOutputFlag(cmd, &output, "text", "json")
	f.StringVar(&approval, "approval", "", "id of a second security admin's approval for revoke-key on this key's fingerprint")
	requireFlags(cmd, "effective-from")
	exactlyOne(cmd, "cert", "fingerprint")
	f.StringVar(&resignDir, "resign-dir", "", "re-sign the affected versions whose archives are in this directory (matched by SHA-256)")
	return cmd
}

// resign signs again every affected entry whose archive is in dir. It
// fails when the revocation covers more signatures (total) than the
// response listed: those were neither listed nor re-signed, and a silent
// success would leave them behind.
func resign(ctx context.Context, cmd *cobra.Command, conn *grpc.ClientConn, dir string, revocationID int64, affected []*signerv1.LedgerEntry, total int64) error {
	bySum, err := archivesByDigest(dir)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	var missing int
	done := make(map[string]bool) // one new signature per archive and app version
	for _, e := range affected {
		path, ok := bySum[string(e.GetSha256())]
		if !ok {
			fmt.Fprintf(w, "not re-signed: entry %d %s %s: no archive with sha256 %x in %s\n", e.GetId(), e.GetAppKey(), e.GetVersion(), e.GetSha256(), dir)
			missing++
			continue
		}
		k := fmt.Sprintf("%s\x00%s\x00%x", e.GetAppKey(), e.GetVersion(), e.GetSha256())
		if done[k] {
			continue
		}
		done[k] = true
		md := &signerv1.SignArchiveMetadata{
			AppKey: e.GetAppKey(), Version: e.GetVersion(), Track: e.GetTrack(), ReviewRef: e.GetReviewRef(),
			IdempotencyKey: fmt.Sprintf("resign:r%d:e%d", revocationID, e.GetId()), ExpectedSha256: e.GetSha256(),
		}
		resp, err := streamArchive(ctx, conn, md, path)
		if err != nil {
			return rpcError(fmt.Sprintf("re-sign %s", path), err)
		}
		if err := os.WriteFile(path+".sig", resp.GetSignatureFile(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(w, "re-signed %s %s: ledger entry %d, key %s v%d, wrote %s.sig\n", e.GetAppKey(), e.GetVersion(), resp.GetEntryId(), resp.GetKeyId(), resp.GetKeyVersion(), path)
	}
	if missing > 0 {
		return fmt.Errorf("%d affected signature(s) not re-signed: put their archives in %s and run the command again", missing, dir)
	}
	if unlisted := affectedTotal(total, affected) - int64(len(affected)); unlisted > 0 {
		return fmt.Errorf("%d more affected signature(s) were not in the server's response (it lists at most %d) and were not re-signed: list all of them with `signerctl ledger list --revocation-id %d`, or let `signerctl incident key-compromise` page through and re-sign them", unlisted, len(affected), revocationID)
	}
	return nil
}

// archivesByDigest maps the SHA-256 of each regular file in dir (not
// signature files) to its path.
func archivesByDigest(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, withCode(exitError, err)
	}
	out := make(map[string]string)
	for _, de := range entries {
		if !de.Type().IsRegular() || filepath.Ext(de.Name()) == ".sig" {
			continue
		}
		path := filepath.Join(dir, de.Name())
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return nil, err
		}
		out[string(h.Sum(nil))] = path
	}
	return out, nil
}

// streamArchive sends md then the file in chunks to SignArchive.
func streamArchive(ctx context.Context, conn *grpc.ClientConn, md *signerv1.SignArchiveMetadata, path string) (*signerv1.SignArchiveResponse, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	stream, err := signerv1.NewSignerServiceClient(conn).SignArchive(ctx)
	if err != nil {
		return nil, err
	}
	err = stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Metadata{Metadata: md}})
	buf := make([]byte, chunkSize)
	for err == nil {
		n, rerr := f.Read(buf)
		if n > 0 {
			err = stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Chunk{Chunk: bytes.Clone(buf[:n])}})
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return nil, rerr
		}
	}
	return stream.CloseAndRecv()
}

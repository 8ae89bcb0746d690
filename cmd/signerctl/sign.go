package main

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

const chunkSize = 1 << 20

type signOptions struct {
	appKey, version, track, reviewRef, idempotencyKey, out, profile string
	conn                                                            client
}

func newSignCommand() *cobra.Command {
	var o signOptions
	cmd := &cobra.Command{
		Use:   "sign --server ADDR --app-key KEY --version V [--track T] [--out FILE] ARCHIVE",
		Short: "Have the signer sign an archive and write its signature file",
		Long: `Stream ARCHIVE to the signer and write the signature file it returns
(default ARCHIVE.sig): {"signature": base64, "certificate": base64 of PEM}.

The idempotency key defaults to one derived from the app key, version, track
and the archive's SHA-256, so running the same command again returns the same
ledger entry and signature instead of signing twice.`,
		Args: exactArgs(1, "one ARCHIVE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSign(cmd, o, args[0])
		},
	}
	f := cmd.Flags()
	addConnFlags(cmd, &o.conn)
	f.StringVar(&o.appKey, "app-key", "", "app key, reverse-DNS (required)")
	f.StringVar(&o.version, "version", "", "app version (required)")
	f.StringVar(&o.track, "track", "marketplace", "marketplace or private-build")
	completeValues(cmd, "track", "marketplace", "private-build")
	f.StringVar(&o.reviewRef, "review-ref", "", "review that approved this version (default: manual:signerctl)")
	f.StringVar(&o.idempotencyKey, "idempotency-key", "", "retry key (default: derived from app, version, track and archive digest)")
	f.StringVar(&o.out, "out", "", "signature file to write (default ARCHIVE.sig)")
	f.StringVar(&o.profile, "profile", "upm", "upm (pure Ed25519 over the archive, what installers check) or digest-v1 (signed statement of the digests; the archive is not uploaded)")
	completeValues(cmd, "profile", "upm", "digest-v1")
	return cmd
}

func parseTrack(s string) (signerv1.Track, error) {
	switch strings.ToLower(strings.ReplaceAll(s, "_", "-")) {
	case "marketplace":
		return signerv1.Track_TRACK_MARKETPLACE, nil
	case "private-build":
		return signerv1.Track_TRACK_PRIVATE_BUILD, nil
	}
	return 0, usagef("--track %q: use marketplace or private-build", s)
}

func runSign(cmd *cobra.Command, o signOptions, archive string) error {
	if o.appKey == "" || o.version == "" {
		return usagef("--app-key and --version are required")
	}
	track, err := parseTrack(o.track)
	if err != nil {
		return err
	}
	if o.reviewRef == "" {
		o.reviewRef = "manual:signerctl"
	}
	if o.out == "" {
		o.out = archive + ".sig"
	}
	if o.profile != "upm" && o.profile != "digest-v1" {
		return usagef("--profile %q: use upm or digest-v1", o.profile)
	}
	f, err := os.Open(archive)
	if err != nil {
		return withCode(exitError, fmt.Errorf("open archive: %w", err))
	}
	defer f.Close()
	h, h512 := sha256.New(), sha512.New()
	size, err := io.Copy(io.MultiWriter(h, h512), f)
	if err != nil {
		return fmt.Errorf("read archive: %w", err)
	}
	sum := h.Sum(nil)
	if o.idempotencyKey == "" {
		k := sha256.Sum256([]byte(strings.Join([]string{o.appKey, o.version, track.String(), o.profile, hex.EncodeToString(sum)}, "\x00")))
		o.idempotencyKey = "signerctl:" + hex.EncodeToString(k[:16])
	}
	return o.conn.with(cmd.Context(), "sign", func(ctx context.Context, conn *grpc.ClientConn) error {
		if o.profile == "digest-v1" {
			resp, err := signerv1.NewSignerServiceClient(conn).SignDigest(ctx, &signerv1.SignDigestRequest{
				AppKey: o.appKey, Version: o.version, Track: track, ReviewRef: o.reviewRef,
				IdempotencyKey: o.idempotencyKey, ArchiveSize: size, Sha256: sum, Sha512: h512.Sum(nil),
			})
			if err != nil {
				return rpcError("sign digest", err)
			}
			return writeSignature(cmd, o, resp.GetSignatureFile(), resp.GetEntryId(), resp.GetKeyId(), resp.GetKeyVersion(), sum, resp.GetReplayed())
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		stream, err := signerv1.NewSignerServiceClient(conn).SignArchive(ctx)
		if err != nil {
			return rpcError("sign", err)
		}
		err = stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Metadata{Metadata: &signerv1.SignArchiveMetadata{
			AppKey: o.appKey, Version: o.version, Track: track, ReviewRef: o.reviewRef,
			IdempotencyKey: o.idempotencyKey, ExpectedSha256: sum,
		}}})
		buf := make([]byte, chunkSize)
		for err == nil {
			n, rerr := f.Read(buf)
			if n > 0 {
				err = stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Chunk{Chunk: buf[:n]}})
			}
			if errors.Is(rerr, io.EOF) {
				break
			}
			if rerr != nil {
				return fmt.Errorf("read archive: %w", rerr)
			}
		}
		// A Send error means the server ended the call; CloseAndRecv reports why.
		resp, err := stream.CloseAndRecv()
		if err != nil {
			return rpcError("sign", err)
		}
		return writeSignature(cmd, o, resp.GetSignatureFile(), resp.GetEntryId(), resp.GetKeyId(), resp.GetKeyVersion(), resp.GetSha256(), resp.GetReplayed())
	})
}

func writeSignature(cmd *cobra.Command, o signOptions, file []byte, entryID int64, keyID string, keyVersion int32, sum []byte, wasReplayed bool) error {
	if err := os.WriteFile(o.out, file, 0o644); err != nil {
		return fmt.Errorf("write signature file: %w", err)
	}
	replayed := ""
	if wasReplayed {
		replayed = " (already signed: returned the recorded signature)"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "signed %s %s (%s): ledger entry %d, key %s v%d, sha256 %x, wrote %s%s\n",
		o.appKey, o.version, o.profile, entryID, keyID, keyVersion, sum, o.out, replayed)
	return nil
}

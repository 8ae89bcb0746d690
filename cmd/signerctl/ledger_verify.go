package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/translog"
)

// exitLedgerBad is `ledger verify`'s status when the ledger or its log is
// not what the signed checkpoints say (docs/cli.md).
const exitLedgerBad = 10

type ledgerVerifyOptions struct {
	ledgerKey, checkpointOut     string
	conn                         client
	publishedDir                 string
	older                        []string
	history, quiet, noSignatures bool
	maxProblems                  int
	archives                     archiveOptions
}

func newLedgerVerifyCommand() *cobra.Command {
	var o ledgerVerifyOptions
	cmd := &cobra.Command{
		Use:   "verify --server ADDR [--ledger-key VKEY] [--checkpoint FILE]... [--checkpoint-out FILE]",
		Short: "Recompute the ledger's Merkle tree and check it against signed checkpoints",
		Long: `Verify fetches the latest signed checkpoint and every log leaf through the
API, recomputes the RFC 6962 tree, and checks:

  - the checkpoint's signature, with the ledger key pinned by --ledger-key
    (a note verifier key; without it the key the server announces is used,
    which only proves the server is consistent with itself);
  - that the leaves hash to the signed root; a leaf that does not match its
    proven stored hash is named by index (modified, swapped, deleted,
    inserted);
  - every older checkpoint given with --checkpoint (saved by an earlier run
    with --checkpoint-out): its signature, a consistency proof that the log
    only grew since, and the leaves against it;
  - with --published-dir, every checkpoint the service published outside
    the database (ledger.checkpoint_dir) the same way: a log cut back
    below one, or rewritten under one, is named;
  - that the signatures table agrees with the log: every signature leaf's
    entry exists, names that leaf and has exactly the logged fields; every
    entry is recorded by a leaf;
  - for digest-v1 entries, the Ed25519 signature over the recorded statement
    with the signing key version's public key (--no-signatures skips it).
    UPM entries sign the archive, which the ledger does not hold: for them
    the leaf binds the recorded signature bytes, which a changed entry fails;
  - that the tables the event leaves determine (keys, key versions, key
    events, vendor certificates, revocations, revocation events, published
    revocation lists and CRLs, used approvals) are exactly what the leaves
    say: every row that differs, is missing or is extra is named; and that
    each published revocation list drops no revocation the log held when
    it was published and moves no effective time later;
  - that every signing key the server presents is the one its key leaf
    records (the server's say-so is not the key);
  - with --archives DIR or --archive-manifest FILE and --trust-bundle, the
    UPM signature over each archive, re-verified as an installing instance
    does: the signing certificate from its certificate leaf, for the key
    its key leaf records, chained to the trust bundle at the signing time.
    A file no signature covers, or that no longer hashes to its listed
    digest, is named;
  - the two-person rule, from the log alone: every approval was requested,
    approved by a second person and used once, each step with the same
    parameters' hash; and every revocation of a key or signing certificate
    was authorized by a used approval for exactly its parameters (or a
    logged waiver in signer dev).

Every problem is printed with the leaf index or entry id. Exit status 0 when
all checks pass, 10 when something is wrong, 1 or 7 when verification could
not run.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.maxProblems < 1 {
				return usagef("--max-problems %d: want at least 1 (a report that lists nothing would only say that something is wrong)", o.maxProblems)
			}
			return runLedgerVerify(cmd, o)
		},
	}
	addConnFlags(cmd, &o.conn)
	f := cmd.Flags()
	f.StringVar(&o.ledgerKey, "ledger-key", os.Getenv("SIGNER_LEDGER_KEY"), "pinned ledger key, a note verifier key \"<origin>+<hash>+<key>\" ($SIGNER_LEDGER_KEY)")
	f.StringArrayVar(&o.older, "checkpoint", nil, "an older signed checkpoint file to prove the log grew from (repeatable)")
	f.StringVar(&o.publishedDir, "published-dir", "", "the service's published checkpoints (ledger.checkpoint_dir, or a copy): the log must extend every one")
	f.StringVar(&o.checkpointOut, "checkpoint-out", "", "save the verified checkpoint to this file, for the next run's --checkpoint")
	f.BoolVar(&o.history, "history", false, "also check every checkpoint the server stored (narrows where damage is)")
	f.BoolVar(&o.noSignatures, "no-signatures", false, "skip the per-entry Ed25519 signature checks")
	f.BoolVar(&o.quiet, "quiet", false, "no progress bar")
	f.IntVar(&o.maxProblems, "max-problems", 1000, "stop listing problems after this many")
	o.archives.flags(f)
	return cmd
}

func runLedgerVerify(cmd *cobra.Command, o ledgerVerifyOptions) error {
	return o.conn.with(cmd.Context(), "verify ledger", func(ctx context.Context, conn *grpc.ClientConn) error {
		return verifyLedger(ctx, cmd, o, signerv1.NewLedgerServiceClient(conn))
	})
}

// verifyLedger checks the log client serves against everything ledger
// verify was given.
func verifyLedger(ctx context.Context, cmd *cobra.Command, o ledgerVerifyOptions, client signerv1.LedgerServiceClient) error {
	out := cmd.OutOrStdout()
	latest, err := client.GetCheckpoint(ctx, &signerv1.GetCheckpointRequest{})
	if err != nil {
		return rpcError("get checkpoint", err)
	}
	origin, verifiers, err := ledgerVerifiers(o.ledgerKey, latest, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	main, err := translog.OpenCheckpoint(latest.GetCheckpoint(), origin, verifiers)
	if err != nil {
		return withCode(exitLedgerBad, fmt.Errorf("the server's latest checkpoint does not verify: %w", err))
	}

	var problems []string
	var older [][]byte
	for _, path := range o.older {
		msg, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		older = append(older, msg)
		if p := proveGrowth(ctx, client, msg, origin, verifiers, main); p != "" {
			problems = append(problems, fmt.Sprintf("checkpoint %s: %s", path, p))
		}
	}
	published, pubProblems, err := readPublished(ctx, o.publishedDir, origin, verifiers)
	if err != nil {
		return err
	}
	pubNotes, growth := checkPublished(ctx, client, published, origin, verifiers, main, latest.GetLogSize())
	older = append(older, pubNotes...)
	problems = append(append(problems, pubProblems...), growth...)
	if o.history {
		hist, err := serverCheckpoints(ctx, client, main.Tree.N)
		if err != nil {
			return err
		}
		older = append(older, hist...)
	}

	audit := ledger.NewAudit(func(yield func(ledger.Entry, error) bool) {
		for e, err := range listEntries(ctx, client, &signerv1.ListEntriesRequest{}, 0) {
			if !yield(entryOf(e), err) {
				return
			}
		}
	})
	audit.Size, audit.MaxFindings = main.Tree.N, o.maxProblems
	if !o.noSignatures {
		if audit.Keys, err = signingKeys(ctx, client); err != nil {
			return err
		}
	}
	projections, err := newProjectionCheck(o.archives)
	if err != nil {
		return err
	}
	twoPerson := ledger.NewTwoPersonAudit()
	bar := newProgress(cmd.ErrOrStderr(), main.Tree.N, "verifying", o.quiet)
	entries := func(yield func(translog.Entry, error) bool) {
		for e, err := range streamLog(ctx, client, verifyEnd(main.Tree.N, published, latest.GetLogSize())) {
			if err == nil && e.Index < main.Tree.N {
				audit.Leaf(e.Index, e.Leaf)
				projections.Leaf(e.Index, e.Leaf)
				twoPerson.Leaf(e.Index, e.Leaf)
				_ = bar.Add(1)
			}
			if !yield(e, err) {
				return
			}
		}
	}
	rep := translog.Verify(entries, translog.VerifyOptions{Origin: origin, Verifiers: verifiers, Checkpoint: latest.GetCheckpoint(),
		Older: older, MaxProblems: o.maxProblems})
	_ = bar.Finish()
	if rep.Err != nil {
		return fmt.Errorf("read the log: %w", rep.Err)
	}
	// The log's size now, read after the rows: rows recorded since the
	// checkpoint name leaves below it.
	now, err := client.GetCheckpoint(ctx, &signerv1.GetCheckpointRequest{})
	if err != nil {
		return rpcError("get checkpoint", err)
	}
	if err := audit.Finish(now.GetLogSize()); err != nil {
		return fmt.Errorf("read the ledger entries: %w", err)
	}
	for _, p := range rep.Problems {
		problems = append(problems, p.String())
	}
	for _, f := range audit.Findings {
		problems = append(problems, f.String())
	}
	projected, err := projections.finish(ctx, client, audit.Keys)
	if err != nil {
		return fmt.Errorf("recompute the tables from the log: %w", err)
	}
	problems = append(problems, projected...)
	for _, f := range twoPerson.Finish() {
		problems = append(problems, f.String())
	}

	fmt.Fprintf(out, "checkpoint: %s, tree size %d, root %x\n", origin, main.Tree.N, main.Tree.Hash[:])
	fmt.Fprintf(out, "leaves read: %d; signature leaves: %d; digest-v1 signatures verified: %d\n", rep.Entries, audit.Signatures, audit.Checked)
	fmt.Fprintln(out, projections.summary())
	if len(problems) > 0 || rep.Truncated || audit.Truncated {
		fmt.Fprintf(out, "FAILED: %d problem(s)\n", len(problems))
		for _, p := range problems {
			fmt.Fprintf(out, "  %s\n", p)
		}
		if rep.Truncated || audit.Truncated {
			fmt.Fprintf(out, "  … more not listed (--max-problems)\n")
		}
		return withCode(exitLedgerBad, errors.New("the ledger does not match its signed checkpoints"))
	}
	if o.checkpointOut != "" {
		if err := os.WriteFile(o.checkpointOut, latest.GetCheckpoint(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "checkpoint saved to %s\n", o.checkpointOut)
	}
	fmt.Fprintln(out, "OK: every leaf matches the signed tree and every entry matches its leaf")
	return nil
}

// ledgerVerifiers returns the origin and trusted keys: the pinned key, or
// the server's announced one with a warning.
func ledgerVerifiers(pinned string, latest *signerv1.GetCheckpointResponse, warn io.Writer) (string, note.Verifiers, error) {
	vkey := pinned
	if vkey == "" {
		vkey = latest.GetVerifierKey()
		if vkey == "" {
			return "", nil, errors.New("the server announces no ledger key: pass --ledger-key")
		}
		fmt.Fprintf(warn, "warning: trusting the ledger key the server announces (%s); pin it with --ledger-key\n", vkey)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return "", nil, usagef("--ledger-key: %v", err)
	}
	return v.Name(), note.VerifierList(v), nil
}

// proveGrowth checks an older checkpoint and that the latest extends it;
// it returns what is wrong, or "".
func proveGrowth(ctx context.Context, client signerv1.LedgerServiceClient, msg []byte, origin string, vs note.Verifiers, main translog.Checkpoint) string {
	old, err := translog.OpenCheckpoint(msg, origin, vs)
	switch {
	case err != nil:
		return fmt.Sprintf("does not verify: %v", err)
	case old.Tree.N > main.Tree.N:
		return fmt.Sprintf("signed a tree of %d leaves, larger than the latest (%d): the log was rolled back", old.Tree.N, main.Tree.N)
	case old.Tree.N == 0:
		return ""
	case old.Tree.N == main.Tree.N:
		if old.Tree.Hash != main.Tree.Hash {
			return "signed another root for the same size (fork)"
		}
		return ""
	}
	resp, err := client.GetConsistencyProof(ctx, &signerv1.GetConsistencyProofRequest{OldSize: old.Tree.N, NewSize: main.Tree.N})
	if err != nil {
		return fmt.Sprintf("no consistency proof: %v", err)
	}
	proof, err := hashesOf(resp.GetProof())
	if err != nil {
		return err.Error()
	}
	if err := tlog.CheckTree(proof, main.Tree.N, main.Tree.Hash, old.Tree.N, old.Tree.Hash); err != nil {
		return fmt.Sprintf("the latest tree (%d) is not an extension of it (%d): %v", main.Tree.N, old.Tree.N, err)
	}
	return ""
}

func hashesOf(raw [][]byte) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(raw))
	for i, h := range raw {
		if len(h) != tlog.HashSize {
			return nil, fmt.Errorf("proof hash %d is %d bytes", i, len(h))
		}
		out[i] = tlog.Hash(h)
	}
	return out, nil
}

// serverCheckpoints returns the server's stored checkpoints up to size.
func serverCheckpoints(ctx context.Context, client signerv1.LedgerServiceClient, size int64) ([][]byte, error) {
	var out [][]byte
	for after := int64(0); after < size; {
		resp, err := client.ListCheckpoints(ctx, &signerv1.ListCheckpointsRequest{AfterSize: after, PageSize: 1000})
		if err != nil {
			return nil, rpcError("list checkpoints", err)
		}
		if len(resp.GetCheckpoints()) == 0 {
			break
		}
		for _, msg := range resp.GetCheckpoints() {
			_, tree, err := translog.ParseCheckpoint(noteText(msg))
			if err != nil || tree.N <= after {
				return out, nil
			}
			after = tree.N
			if tree.N <= size {
				out = append(out, msg)
			}
		}
	}
	return out, nil
}

// noteText is the text of a signed note (before the blank line).
func noteText(msg []byte) []byte {
	if i := strings.Index(string(msg), "\n\n"); i >= 0 {
		return msg[:i+1]
	}
	return msg
}

// signingKeys returns the public key of every signing key version.
func signingKeys(ctx context.Context, client signerv1.LedgerServiceClient) (map[ledger.KeyRef]ed25519.PublicKey, error) {
	resp, err := client.ListSigningCertificates(ctx, &signerv1.ListSigningCertificatesRequest{})
	if err != nil {
		return nil, rpcError("list signing certificates", err)
	}
	keys := map[ledger.KeyRef]ed25519.PublicKey{}
	for _, c := range resp.GetCertificates() {
		if len(c.GetPublicKey()) == ed25519.PublicKeySize {
			keys[ledger.KeyRef{ID: c.GetKeyId(), Version: c.GetKeyVersion()}] = ed25519.PublicKey(c.GetPublicKey())
		}
	}
	return keys, nil
}

// streamLog yields the log's positions below end from StreamLogEntries,
// with the stored hashes the server sends beside the leaves.
func streamLog(ctx context.Context, client signerv1.LedgerServiceClient, end int64) iter.Seq2[translog.Entry, error] {
	return streamLogRange(ctx, client, 0, end, func(pe *signerv1.LogEntry) translog.Entry {
		e := translog.Entry{Index: pe.GetIndex()}
		if len(pe.GetLeaf()) > 0 {
			e.Leaf = pe.GetLeaf()
		}
		if len(pe.GetStoredHash()) == tlog.HashSize {
			h := tlog.Hash(pe.GetStoredHash())
			e.Hash = &h
		}
		return e
	})
}

// streamLogRange yields the positions in [start, end) from
// StreamLogEntries, converted by conv. The server ends any call at its
// maximum deadline (2 minutes by default), and a log of millions of
// entries takes longer than that to read: when a stream ends with
// DeadlineExceeded after it made progress, and the caller's own context
// is still live, the next call resumes at the first position not yet
// received. A stream that ends that way without progress is an error.
func streamLogRange(ctx context.Context, client signerv1.LedgerServiceClient, start, end int64, conv func(*signerv1.LogEntry) translog.Entry) iter.Seq2[translog.Entry, error] {
	return func(yield func(translog.Entry, error) bool) {
		next := start
		for next < end {
			from, stopped := next, false
			err := func() error {
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				stream, err := client.StreamLogEntries(ctx, &signerv1.StreamLogEntriesRequest{Start: next, End: end})
				if err != nil {
					return err
				}
				for {
					msg, err := stream.Recv()
					if errors.Is(err, io.EOF) {
						return nil
					}
					if err != nil {
						return err
					}
					for _, pe := range msg.GetEntries() {
						if !yield(conv(pe), nil) {
							stopped = true
							return nil
						}
						next = pe.GetIndex() + 1
					}
				}
			}()
			switch {
			case stopped:
				return
			case err == nil:
				return
			case status.Code(err) == codes.DeadlineExceeded && next > from && ctx.Err() == nil:
				continue
			}
			yield(translog.Entry{}, rpcError("stream log entries", err))
			return
		}
	}
}

// entryOf converts an API entry to the ledger's form for the audit.
func entryOf(e *signerv1.LedgerEntry) ledger.Entry {
	if e == nil {
		return ledger.Entry{}
	}
	track := ledger.TrackMarketplace
	if e.GetTrack() == signerv1.Track_TRACK_PRIVATE_BUILD {
		track = ledger.TrackPrivateBuild
	}
	return ledger.Entry{
		ID: e.GetId(), AppKey: e.GetAppKey(), Version: e.GetVersion(), Track: track, ArchiveSize: e.GetArchiveSize(),
		SHA256: e.GetSha256(), SHA512: e.GetSha512(), KeyID: e.GetKeyId(), KeyVersion: e.GetKeyVersion(),
		CertSerial: e.GetCertificateSerial(), Signature: e.GetSignature(), Caller: e.GetCaller(), ReviewRef: e.GetReviewRef(),
		IdempotencyKey: e.GetIdempotencyKey(), SignedAt: e.GetSignedAt().AsTime(), Profile: e.GetProfile(),
		Statement: e.GetStatement(), LogIndex: e.GetLogIndex(), Revoked: e.GetRevoked(),
	}
}

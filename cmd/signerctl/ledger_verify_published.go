package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/anchor"
	"github.com/appsign/signer/internal/translog"
)

// publishedCheckpoint is one checkpoint from --published-dir.
type publishedCheckpoint struct {
	path string
	cp   translog.Checkpoint
}

// readPublished reads the checkpoints the service published to dir
// (ledger.checkpoint_dir, or an auditor's copy of it), verifying each
// with the pinned ledger key. A file that does not verify, or a latest
// that is not among the checkpoints, is a problem, not skipped: the
// directory is the log's history held outside the database.
func readPublished(ctx context.Context, dir, origin string, vs note.Verifiers) ([]publishedCheckpoint, []string, error) {
	if dir == "" {
		return nil, nil, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, nil, usagef("--published-dir: %v", err)
	}
	d, err := anchor.NewDir(abs)
	if err != nil {
		return nil, nil, err
	}
	pub := anchor.New(d, origin, vs)
	sizes, err := pub.Sizes(ctx)
	if err != nil {
		return nil, nil, err
	}
	var (
		out      []publishedCheckpoint
		problems []string
	)
	for _, n := range sizes {
		path := filepath.Join(abs, filepath.FromSlash(anchor.CheckpointPrefix), fmt.Sprint(n))
		cp, err := pub.At(ctx, n)
		if err != nil {
			problems = append(problems, fmt.Sprintf("published checkpoint %s: does not verify: %v", path, err))
			continue
		}
		out = append(out, publishedCheckpoint{path: path, cp: cp})
	}
	latest, err := d.Get(ctx, anchor.LatestName)
	switch {
	case err == nil:
		path := filepath.Join(abs, anchor.LatestName)
		cp, err := translog.OpenCheckpoint(latest, origin, vs)
		if err != nil {
			problems = append(problems, fmt.Sprintf("published checkpoint %s: does not verify: %v", path, err))
			break
		}
		if len(out) == 0 || out[len(out)-1].cp.Tree.N < cp.Tree.N {
			// Kept for the checks below, though its checkpoints/ copy is gone.
			out = append(out, publishedCheckpoint{path: path, cp: cp})
		}
	case len(out) > 0:
		problems = append(problems, fmt.Sprintf("published checkpoints in %s: no %s file", abs, anchor.LatestName))
	}
	if len(out) == 0 && len(problems) == 0 {
		return nil, nil, usagef("--published-dir %s holds no checkpoints: is it ledger.checkpoint_dir?", abs)
	}
	return out, problems, nil
}

// checkPublished proves that the server's latest checkpoint extends each
// published one, reports a published one the log no longer reaches (cut
// back) or that is newer than anything the server serves, and returns the
// notes for translog.Verify, which also checks the leaves against every
// published root (and so names where a rewritten log departs from them).
func checkPublished(ctx context.Context, client signerv1.LedgerServiceClient, pub []publishedCheckpoint, origin string, vs note.Verifiers, main translog.Checkpoint, logSize int64) (notes [][]byte, problems []string) {
	for _, p := range pub {
		notes = append(notes, p.cp.Note)
		var msg string
		switch n := p.cp.Tree.N; {
		case n > logSize:
			msg = fmt.Sprintf("signed a tree of %d leaves, but the log holds %d: it was cut back", n, logSize)
		case n > main.Tree.N:
			msg = fmt.Sprintf("signed a tree of %d leaves, newer than the server's latest checkpoint (%d): its checkpoints were deleted or it stopped signing (is signer_ledger_checkpoint_refused raised?)", n, main.Tree.N)
		default:
			msg = proveGrowth(ctx, client, p.cp.Note, origin, vs, main)
		}
		if msg != "" {
			problems = append(problems, fmt.Sprintf("published checkpoint %s: %s", p.path, msg))
		}
	}
	return notes, problems
}

// verifyEnd is how far the leaves are read: the server's latest
// checkpoint, or the largest published one if larger (its leaves must be
// there), but not beyond what the log holds (missing leaves are reported
// as such).
func verifyEnd(main int64, pub []publishedCheckpoint, logSize int64) int64 {
	end := main
	for _, p := range pub {
		end = max(end, min(p.cp.Tree.N, logSize))
	}
	return end
}

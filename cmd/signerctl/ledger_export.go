package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

func newLedgerExportCommand() *cobra.Command {
	var (
		output, out string
		c           client
		quiet       bool
		filter      ledgerFilter
	)
	cmd := &cobra.Command{
		Use:   "export --server ADDR [filters] [--output json|csv] [--out FILE]",
		Short: "Stream every matching ledger entry, as JSON lines or CSV",
		Long: `Export streams every ledger entry matching the filters (all of them without
filters), oldest first, as JSON lines (default) or CSV, to --out or stdout.
A progress bar on stderr counts the entries (--quiet hides it).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := filter.request()
			if err != nil {
				return err
			}
			return c.with(cmd.Context(), "export ledger", func(ctx context.Context, conn *grpc.ClientConn) error {
				return exportLedger(cmd, signerv1.NewLedgerServiceClient(conn), req, output, out, quiet)
			})
		},
	}
	addConnFlags(cmd, &c)
	filter.addFlags(cmd)
	f := cmd.Flags()
	addOutputFlag(cmd, &output, "json", "csv")
	f.StringVar(&out, "out", "", "file to write (default stdout)")
	f.BoolVar(&quiet, "quiet", false, "no progress bar")
	return cmd
}

// exportLedger writes every entry req selects to out (stdout if ""), as
// output (json or csv), with a progress bar on stderr unless quiet.
func exportLedger(cmd *cobra.Command, client signerv1.LedgerServiceClient, req *signerv1.ListEntriesRequest, output, out string, quiet bool) error {
	ctx := cmd.Context()
	var w io.Writer = cmd.OutOrStdout()
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	// The log's size bounds the count (it also holds other events).
	total := int64(-1)
	if cp, err := client.GetCheckpoint(ctx, &signerv1.GetCheckpointRequest{}); err == nil {
		total = cp.GetLogSize()
	}
	bar := newProgress(cmd.ErrOrStderr(), total, "exporting", quiet)
	p := newEntryPrinter(w, output)
	n := 0
	for e, err := range listEntries(ctx, client, req, 0) {
		if err != nil {
			return err
		}
		if err := p.print(e); err != nil {
			return err
		}
		n++
		_ = bar.Add(1)
	}
	_ = bar.Finish()
	if err := p.flush(); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "exported %d entries\n", n)
	return nil
}

// newProgress returns a progress bar on w (a spinner when total is
// unknown, -1), or a silent one.
func newProgress(w io.Writer, total int64, what string, quiet bool) *progressbar.ProgressBar {
	if quiet {
		return progressbar.DefaultSilent(total, what)
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("entries"),
		progressbar.OptionThrottle(200_000_000), // 200 ms
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}

package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

func newLedgerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Read the signature ledger",
	}
	cmd.AddCommand(newLedgerListCommand(), newLedgerShowCommand())
	return cmd
}

type ledgerListOptions struct {
	server, appKey, version, output, pageToken string
	limit                                      int
}

func newLedgerListCommand() *cobra.Command {
	var o ledgerListOptions
	cmd := &cobra.Command{
		Use:   "list --server ADDR [--app-key K] [--version V] [--limit N] [--output table|json]",
		Short: "List ledger entries, oldest first",
		Long: `List ledger entries in ascending id order, optionally for one app key and/or
version. --limit caps how many are printed (0 = all). With --output json each
entry is one JSON object per line.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.output != "table" && o.output != "json" {
				return usagef("--output %q: use table or json", o.output)
			}
			if o.limit < 0 {
				return usagef("--limit must be 0 or more")
			}
			conn, err := dial(o.server)
			if err != nil {
				return err
			}
			defer conn.Close()
			client := signerv1.NewLedgerServiceClient(conn)
			p := newEntryPrinter(cmd.OutOrStdout(), o.output)
			token, printed := o.pageToken, 0
			for {
				pageSize := 500
				if o.limit > 0 && o.limit-printed < pageSize {
					pageSize = o.limit - printed
				}
				resp, err := client.ListEntries(cmd.Context(), &signerv1.ListEntriesRequest{
					AppKey: o.appKey, Version: o.version, PageSize: int32(pageSize), PageToken: token,
				})
				if err != nil {
					return rpcError("list ledger", err)
				}
				for _, e := range resp.GetEntries() {
					if err := p.print(e); err != nil {
						return err
					}
					printed++
				}
				token = resp.GetNextPageToken()
				if token == "" || (o.limit > 0 && printed >= o.limit) {
					break
				}
			}
			return p.flush()
		},
	}
	serverFlag(cmd, &o.server)
	f := cmd.Flags()
	f.StringVar(&o.appKey, "app-key", "", "only entries of this app key")
	f.StringVar(&o.version, "version", "", "only entries of this version")
	f.IntVar(&o.limit, "limit", 0, "print at most N entries (0 = all)")
	f.StringVar(&o.pageToken, "page-token", "", "resume from a page token")
	f.StringVar(&o.output, "output", "table", "table or json")
	return cmd
}

func newLedgerShowCommand() *cobra.Command {
	var server, output string
	cmd := &cobra.Command{
		Use:   "show --server ADDR ID",
		Short: "Show one ledger entry",
		Args:  exactArgs(1, "one entry ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usagef("entry ID %q: want a positive integer", args[0])
			}
			if output != "table" && output != "json" {
				return usagef("--output %q: use table or json", output)
			}
			conn, err := dial(server)
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := signerv1.NewLedgerServiceClient(conn).GetEntry(cmd.Context(), &signerv1.GetEntryRequest{Id: id})
			if err != nil {
				return rpcError("show ledger entry", err)
			}
			if output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(entryJSONOf(resp.GetEntry()))
			}
			return printEntryDetail(cmd.OutOrStdout(), resp.GetEntry())
		},
	}
	serverFlag(cmd, &server)
	cmd.Flags().StringVar(&output, "output", "table", "table or json")
	return cmd
}

// entryJSON is the stable JSON form of a ledger entry: digests and
// signature in hex, times in RFC 3339.
type entryJSON struct {
	ID             int64     `json:"id"`
	AppKey         string    `json:"app_key"`
	Version        string    `json:"version"`
	Track          string    `json:"track"`
	ArchiveSize    int64     `json:"archive_size"`
	SHA256         string    `json:"sha256"`
	SHA512         string    `json:"sha512"`
	KeyID          string    `json:"key_id"`
	KeyVersion     int32     `json:"key_version"`
	CertSerial     string    `json:"certificate_serial"`
	Signature      string    `json:"signature"`
	Caller         string    `json:"caller"`
	ReviewRef      string    `json:"review_ref"`
	IdempotencyKey string    `json:"idempotency_key"`
	SignedAt       time.Time `json:"signed_at"`
}

func entryJSONOf(e *signerv1.LedgerEntry) entryJSON {
	return entryJSON{
		ID: e.GetId(), AppKey: e.GetAppKey(), Version: e.GetVersion(), Track: trackText(e.GetTrack()),
		ArchiveSize: e.GetArchiveSize(), SHA256: hex.EncodeToString(e.GetSha256()), SHA512: hex.EncodeToString(e.GetSha512()),
		KeyID: e.GetKeyId(), KeyVersion: e.GetKeyVersion(), CertSerial: e.GetCertificateSerial(),
		Signature: hex.EncodeToString(e.GetSignature()), Caller: e.GetCaller(), ReviewRef: e.GetReviewRef(),
		IdempotencyKey: e.GetIdempotencyKey(), SignedAt: e.GetSignedAt().AsTime().UTC(),
	}
}

func trackText(t signerv1.Track) string {
	switch t {
	case signerv1.Track_TRACK_MARKETPLACE:
		return "marketplace"
	case signerv1.Track_TRACK_PRIVATE_BUILD:
		return "private-build"
	}
	return "unspecified"
}

type entryPrinter struct {
	output string
	json   *json.Encoder
	tw     *tabwriter.Writer
	header bool
}

func newEntryPrinter(w io.Writer, output string) *entryPrinter {
	return &entryPrinter{output: output, json: json.NewEncoder(w), tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
}

func (p *entryPrinter) print(e *signerv1.LedgerEntry) error {
	if p.output == "json" {
		return p.json.Encode(entryJSONOf(e))
	}
	if !p.header {
		fmt.Fprintln(p.tw, "ID\tSIGNED AT (UTC)\tAPP KEY\tVERSION\tTRACK\tSIZE\tSHA-256\tKEY")
		p.header = true
	}
	_, err := fmt.Fprintf(p.tw, "%d\t%s\t%s\t%s\t%s\t%d\t%.16x…\t%s v%d\n", e.GetId(),
		e.GetSignedAt().AsTime().UTC().Format(time.DateTime), e.GetAppKey(), e.GetVersion(), trackText(e.GetTrack()),
		e.GetArchiveSize(), e.GetSha256(), e.GetKeyId(), e.GetKeyVersion())
	return err
}

func (p *entryPrinter) flush() error {
	if p.output == "table" && !p.header {
		fmt.Fprintln(p.tw, "no entries")
	}
	return p.tw.Flush()
}

func printEntryDetail(w io.Writer, e *signerv1.LedgerEntry) error {
	j := entryJSONOf(e)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	rows := [][2]string{
		{"id", strconv.FormatInt(j.ID, 10)}, {"signed at", j.SignedAt.Format(time.RFC3339Nano)},
		{"app key", j.AppKey}, {"version", j.Version}, {"track", j.Track},
		{"archive size", strconv.FormatInt(j.ArchiveSize, 10)}, {"sha256", j.SHA256}, {"sha512", j.SHA512},
		{"key", fmt.Sprintf("%s v%d", j.KeyID, j.KeyVersion)}, {"certificate serial", j.CertSerial},
		{"signature", j.Signature}, {"caller", j.Caller}, {"review ref", j.ReviewRef}, {"idempotency key", j.IdempotencyKey},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

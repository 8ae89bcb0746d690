package main

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

func newLedgerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Query, export and verify the signature ledger and its tamper-evident log",
	}
	cmd.AddCommand(newLedgerListCommand(), newLedgerShowCommand(), newLedgerExportCommand(),
		newLedgerVerifyCommand(), newLedgerCheckpointCommand(), newLedgerProveCommand())
	return cmd
}

type ledgerListOptions struct {
	output, pageToken string
	conn              client
	limit             int
	filter            ledgerFilter
}

func newLedgerListCommand() *cobra.Command {
	var o ledgerListOptions
	cmd := &cobra.Command{
		Use:   "list --server ADDR [filters] [--limit N] [--output table|json|csv]",
		Short: "List ledger entries, oldest first",
		Long: `List ledger entries in ascending id order. Filters combine (all must hold):
app key, version, track, key id and version, certificate serial, archive
SHA-256, caller, signing time range and revocation status. --limit caps how
many are printed (0 = all). --output json prints one JSON object per line,
csv a header and one row per entry.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.limit < 0 {
				return usagef("--limit must be 0 or more")
			}
			req, err := o.filter.request()
			if err != nil {
				return err
			}
			req.PageToken = o.pageToken
			return o.conn.with(cmd.Context(), "list ledger entries", func(ctx context.Context, conn *grpc.ClientConn) error {
				p := newEntryPrinter(cmd.OutOrStdout(), o.output)
				printed := 0
				for e, err := range listEntries(ctx, signerv1.NewLedgerServiceClient(conn), req, o.limit) {
					if err != nil {
						return err
					}
					if err := p.print(e); err != nil {
						return err
					}
					printed++
				}
				return p.flush()
			})
		},
	}
	addConnFlags(cmd, &o.conn)
	o.filter.addFlags(cmd)
	f := cmd.Flags()
	f.IntVar(&o.limit, "limit", 0, "print at most N entries (0 = all)")
	f.StringVar(&o.pageToken, "page-token", "", "resume from a page token")
	addOutputFlag(cmd, &o.output, "table", "json", "csv")
	return cmd
}

// listEntries pages through ListEntries with req's filters, yielding at
// most limit entries (0 = all). Pages follow the server's cursor, which is
// stable while entries are appended.
func listEntries(ctx context.Context, client signerv1.LedgerServiceClient, req *signerv1.ListEntriesRequest, limit int) iter.Seq2[*signerv1.LedgerEntry, error] {
	return func(yield func(*signerv1.LedgerEntry, error) bool) {
		token, n := req.GetPageToken(), 0
		for {
			pageSize := 1000
			if limit > 0 && limit-n < pageSize {
				pageSize = limit - n
			}
			page := proto.Clone(req).(*signerv1.ListEntriesRequest)
			page.PageSize, page.PageToken = int32(pageSize), token
			resp, err := client.ListEntries(ctx, page)
			if err != nil {
				yield(nil, rpcError("list ledger", err))
				return
			}
			for _, e := range resp.GetEntries() {
				if !yield(e, nil) {
					return
				}
				n++
			}
			token = resp.GetNextPageToken()
			if token == "" || (limit > 0 && n >= limit) {
				return
			}
		}
	}
}

func newLedgerShowCommand() *cobra.Command {
	var output string
	var c client
	cmd := &cobra.Command{
		Use:   "show --server ADDR ID",
		Short: "Show one ledger entry",
		Args:  exactArgs(1, "one entry ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usagef("entry ID %q: want a positive integer", args[0])
			}
			resp, err := unary(cmd.Context(), &c, "show ledger entry", func(ctx context.Context, conn *grpc.ClientConn) (*signerv1.GetEntryResponse, error) {
				return signerv1.NewLedgerServiceClient(conn).GetEntry(ctx, &signerv1.GetEntryRequest{Id: id})
			})
			if err != nil {
				return err
			}
			if output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(entryJSONOf(resp.GetEntry()))
			}
			return printEntryDetail(cmd.OutOrStdout(), resp.GetEntry())
		},
	}
	addConnFlags(cmd, &c)
	addOutputFlag(cmd, &output, "table", "json")
	return cmd
}

// entryJSON is the stable JSON form of a ledger entry: digests and
// signature in hex, times in RFC 3339. Its keys are those of the entry's
// log leaf (docs/ledger.md), e.g. cert_serial; signerctl's JSON once named
// that one certificate_serial, and nothing here parses that form back.
type entryJSON struct {
	ID             int64     `json:"id"`
	LogIndex       int64     `json:"log_index"`
	AppKey         string    `json:"app_key"`
	Version        string    `json:"version"`
	Track          string    `json:"track"`
	Profile        string    `json:"profile"`
	ArchiveSize    int64     `json:"archive_size"`
	SHA256         string    `json:"sha256"`
	SHA512         string    `json:"sha512"`
	KeyID          string    `json:"key_id"`
	KeyVersion     int32     `json:"key_version"`
	CertSerial     string    `json:"cert_serial"`
	Signature      string    `json:"signature"`
	Statement      string    `json:"statement,omitempty"`
	Caller         string    `json:"caller"`
	ReviewRef      string    `json:"review_ref"`
	IdempotencyKey string    `json:"idempotency_key"`
	SignedAt       time.Time `json:"signed_at"`
	Revoked        bool      `json:"revoked"`
}

func entryJSONOf(e *signerv1.LedgerEntry) entryJSON {
	return entryJSON{
		ID: e.GetId(), LogIndex: e.GetLogIndex(), AppKey: e.GetAppKey(), Version: e.GetVersion(), Track: trackText(e.GetTrack()),
		Profile: e.GetProfile(), ArchiveSize: e.GetArchiveSize(), SHA256: hex.EncodeToString(e.GetSha256()), SHA512: hex.EncodeToString(e.GetSha512()),
		KeyID: e.GetKeyId(), KeyVersion: e.GetKeyVersion(), CertSerial: e.GetCertificateSerial(),
		Signature: hex.EncodeToString(e.GetSignature()), Statement: hex.EncodeToString(e.GetStatement()), Caller: e.GetCaller(), ReviewRef: e.GetReviewRef(),
		IdempotencyKey: e.GetIdempotencyKey(), SignedAt: e.GetSignedAt().AsTime().UTC(), Revoked: e.GetRevoked(),
	}
}

// csvHeader and csvRecord are the CSV form: the JSON fields in order.
var csvHeader = []string{"id", "log_index", "app_key", "version", "track", "profile", "archive_size", "sha256", "sha512",
	"key_id", "key_version", "cert_serial", "signature", "statement", "caller", "review_ref", "idempotency_key", "signed_at", "revoked"}

func csvRecord(e *signerv1.LedgerEntry) []string {
	j := entryJSONOf(e)
	return []string{strconv.FormatInt(j.ID, 10), strconv.FormatInt(j.LogIndex, 10), j.AppKey, j.Version, j.Track, j.Profile,
		strconv.FormatInt(j.ArchiveSize, 10), j.SHA256, j.SHA512, j.KeyID, strconv.Itoa(int(j.KeyVersion)), j.CertSerial,
		j.Signature, j.Statement, j.Caller, j.ReviewRef, j.IdempotencyKey, j.SignedAt.Format(time.RFC3339Nano), strconv.FormatBool(j.Revoked)}
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
	csv    *csv.Writer
	tw     *tabwriter.Writer
	header bool
}

func newEntryPrinter(w io.Writer, output string) *entryPrinter {
	return &entryPrinter{output: output, json: json.NewEncoder(w), csv: csv.NewWriter(w), tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
}

func (p *entryPrinter) print(e *signerv1.LedgerEntry) error {
	switch p.output {
	case "json":
		return p.json.Encode(entryJSONOf(e))
	case "csv":
		if !p.header {
			p.header = true
			if err := p.csv.Write(csvHeader); err != nil {
				return err
			}
		}
		return p.csv.Write(csvRecord(e))
	}
	if !p.header {
		fmt.Fprintln(p.tw, "ID\tLOG\tSIGNED AT (UTC)\tAPP KEY\tVERSION\tTRACK\tSIZE\tSHA-256\tKEY\tREVOKED")
		p.header = true
	}
	revoked := ""
	if e.GetRevoked() {
		revoked = "revoked"
	}
	_, err := fmt.Fprintf(p.tw, "%d\t%d\t%s\t%s\t%s\t%s\t%d\t%.16x…\t%s v%d\t%s\n", e.GetId(), e.GetLogIndex(),
		e.GetSignedAt().AsTime().UTC().Format(time.DateTime), e.GetAppKey(), e.GetVersion(), trackText(e.GetTrack()),
		e.GetArchiveSize(), e.GetSha256(), e.GetKeyId(), e.GetKeyVersion(), revoked)
	return err
}

func (p *entryPrinter) flush() error {
	switch p.output {
	case "csv":
		if !p.header {
			_ = p.csv.Write(csvHeader)
		}
		p.csv.Flush()
		return p.csv.Error()
	case "table":
		if !p.header {
			fmt.Fprintln(p.tw, "no entries")
		}
		return p.tw.Flush()
	}
	return nil
}

func printEntryDetail(w io.Writer, e *signerv1.LedgerEntry) error {
	j := entryJSONOf(e)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	rows := [][2]string{
		{"id", strconv.FormatInt(j.ID, 10)}, {"log index", strconv.FormatInt(j.LogIndex, 10)}, {"signed at", j.SignedAt.Format(time.RFC3339Nano)},
		{"app key", j.AppKey}, {"version", j.Version}, {"track", j.Track}, {"profile", j.Profile},
		{"archive size", strconv.FormatInt(j.ArchiveSize, 10)}, {"sha256", j.SHA256}, {"sha512", j.SHA512},
		{"key", fmt.Sprintf("%s v%d", j.KeyID, j.KeyVersion)}, {"certificate serial", j.CertSerial},
		{"signature", j.Signature}, {"caller", j.Caller}, {"review ref", j.ReviewRef}, {"idempotency key", j.IdempotencyKey},
		{"revoked", strconv.FormatBool(j.Revoked)},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

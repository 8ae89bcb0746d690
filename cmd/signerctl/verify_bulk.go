package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/verifypolicy"
)

// bulkOptions are verify's flags for many archives in one process.
type bulkOptions struct {
	dir, manifest string
	workers       int
}

func (b bulkOptions) enabled() bool { return b.dir != "" || b.manifest != "" }

func addBulkFlags(cmd *cobra.Command, b *bulkOptions) {
	f := cmd.Flags()
	f.StringVar(&b.dir, "dir", "", "verify every archive under DIR (recursively) against ARCHIVE.sig beside it, in one process")
	f.StringVar(&b.manifest, "manifest", "", "verify the archives a manifest lists: lines ARCHIVE[<TAB>SIGNATURE[<TAB>APP-KEY]], paths relative to the manifest")
	f.IntVar(&b.workers, "workers", runtime.NumCPU(), "with --dir or --manifest: archives verified in parallel")
}

// verifyArgs wants one ARCHIVE, or none with --dir or --manifest.
func verifyArgs(o *verifyOptions) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if o.bulk.enabled() {
			return noArgs(cmd, args)
		}
		return exactArgs(1, "one ARCHIVE (or --dir DIR, or --manifest FILE)")(cmd, args)
	}
}

// bulkItem is one archive to verify; a signature file that does not exist
// makes it unsigned.
type bulkItem struct {
	archive, signature, appKey string
}

// bulkEnv is what every archive is checked against: loaded once.
type bulkEnv struct {
	ts                *chain.TrustStore
	revs              *revocationSource
	now, grace        time.Time
	appKey            string
	pol               verifypolicy.Policy
	requireRevocation bool
	paths             pathCache
}

// pathCache remembers the certificate path of each signing certificate
// (most files share a few): building it checks two or more signatures.
// A nil cache computes every time.
type pathCache struct {
	mu sync.Mutex
	m  map[string][]*x509.Certificate
}

// get is signaturePath(ts, res, now), cached while ts and now stay fixed
// (one bulk run). Failures are not cached.
func (c *pathCache) get(ts *chain.TrustStore, res *verified, now time.Time) ([]*x509.Certificate, error) {
	if c == nil {
		return signaturePath(ts, res, now)
	}
	key := fmt.Sprintf("%t:%s", res.FromTrustStore, res.Certificate.Raw)
	c.mu.Lock()
	p, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := signaturePath(ts, res, now)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string][]*x509.Certificate{}
	}
	c.m[key] = p
	c.mu.Unlock()
	return p, nil
}

// bulkSummary counts the outcomes of a bulk verification.
type bulkSummary struct {
	Files    int            `json:"files"`
	Valid    int            `json:"valid"`
	Accepted int            `json:"accepted_by_policy"`
	Failed   int            `json:"failed"`
	ByCause  map[string]int `json:"by_cause"`
	Seconds  float64        `json:"seconds"`
	PerSec   float64        `json:"files_per_second"`
	List     string         `json:"revocation_list,omitempty"`
	Version  uint64         `json:"revocation_list_version,omitempty"`
	Warnings []string       `json:"warnings,omitempty"`
}

// runBulkVerify verifies many archives with the trust store and the
// revocation list loaded once, in parallel, offline (no server: with no
// trusted signing time, key and certificate revocations decide by the
// list's exact entries), each decided as single-file verify decides
// (verifypolicy.Decide). It prints one result per archive, in input order
// (JSON lines with --output json), then a summary. The exit status is 0
// if every archive is accepted, the failures' status if they share one,
// else 1.
func runBulkVerify(cmd *cobra.Command, o verifyOptions) error {
	switch {
	case o.bulk.dir != "" && o.bulk.manifest != "":
		return usagef("--dir and --manifest: use one")
	case o.sigPath != "" || o.conn.server != "" || o.ledgerEntry != 0:
		return usagef("--dir and --manifest verify offline, each ARCHIVE with ARCHIVE.sig (or the manifest's signature): --signature, --server and --ledger-entry do not apply")
	case o.bulk.workers < 1:
		return usagef("--workers must be at least 1")
	}
	pol, grace, err := o.decisionFlags()
	if err != nil {
		return err
	}
	var items []bulkItem
	if o.bulk.dir != "" {
		items, err = bulkDirItems(o.bulk.dir)
	} else {
		items, err = bulkManifestItems(o.bulk.manifest)
	}
	if err != nil {
		return err
	}
	start := time.Now()
	env := &bulkEnv{now: start, grace: grace, appKey: o.appKey, pol: pol, requireRevocation: o.requireRevocation}
	if env.ts, err = chain.LoadTrustStore(o.truststore); err != nil {
		return verifyFailure(err)
	}
	sum := bulkSummary{Files: len(items), ByCause: map[string]int{}}
	var warnings []string
	env.revs, warnings, err = loadRevocationList(o.truststore, o.revocationList, env.ts, start, o.stale == "fail")
	sum.Warnings = warnings
	if err != nil {
		return verifyFailure(err)
	}
	if env.revs == nil {
		sum.Warnings = append(sum.Warnings, "no revocation list installed or given: revoked signatures are not detected")
	} else {
		sum.List, sum.Version = env.revs.from, env.revs.list.Version
	}
	codes := map[int]bool{} // the failures' exit statuses
	w := bufio.NewWriter(cmd.OutOrStdout())
	emit := func(it bulkItem, rep *verifyReport) error {
		switch {
		case rep.err == nil:
			sum.Valid++
		case rep.accepted:
			sum.Accepted++
		default:
			sum.Failed++
			code := errExitCode(rep.err)
			codes[code] = true
			sum.ByCause[causeOf(rep.err, code)]++
		}
		if o.output == "json" {
			return writeVerifyJSON(w, it.archive, rep)
		}
		switch {
		case rep.err != nil && rep.accepted:
			_, err := fmt.Fprintf(w, "ACCEPTED %s (%s): %s: %v\n", it.archive, rep.origin, rep.note, rep.err)
			return err
		case rep.err != nil:
			_, err := fmt.Fprintf(w, "FAIL %s: %v\n", it.archive, rep.err)
			return err
		}
		_, err := fmt.Fprintf(w, "OK %s: %s signature by %q, sha256 %s\n", it.archive, rep.origin, rep.res.Subject, rep.res.SHA256)
		return err
	}
	verify := func(ctx context.Context, it bulkItem) *verifyReport { return verifyBulkItem(ctx, env, it) }
	if err := verifyInOrder(cmd.Context(), items, o.bulk.workers, verify, emit); err != nil {
		return err
	}
	sum.Seconds = time.Since(start).Seconds()
	sum.PerSec = perSecond(sum.Files, sum.Seconds)
	if err := printBulkSummary(w, cmd.ErrOrStderr(), o.output, sum); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if sum.Failed == 0 {
		return nil
	}
	code := exitError
	if len(codes) == 1 {
		for c := range codes {
			code = c
		}
	}
	return withCode(code, fmt.Errorf("%d of %d archive(s) failed verification", sum.Failed, sum.Files))
}

// perSecond is the summary's rate: n files in seconds, 0 for no time.
func perSecond(n int, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(n) / seconds
}

// bulkWindow is how many items per worker may be verified ahead of the
// next one to print (at most bulkWindow*n reports wait in memory).
const bulkWindow = 64

// verifyInOrder verifies items with n workers (verify, concurrently) and
// calls emit for each, in input order, from one goroutine. At most a window
// of items (bulkWindow*n) is in flight or waiting for an earlier one, so
// memory stays flat behind a slow file. After emit fails it is not called
// again; a run cut short by ctx is an error.
func verifyInOrder(ctx context.Context, items []bulkItem, n int, verify func(context.Context, bulkItem) *verifyReport, emit func(bulkItem, *verifyReport) error) error {
	type done struct {
		i   int
		rep *verifyReport
	}
	work := make(chan int)
	results := make(chan done, n)
	window := make(chan struct{}, bulkWindow*n)
	var wg sync.WaitGroup
	for range min(n, max(len(items), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results <- done{i, verify(ctx, items[i])}
			}
		}()
	}
	go func() {
		defer close(work)
		for i := range items {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case work <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	pending := map[int]*verifyReport{}
	next := 0
	var emitErr error
	for d := range results {
		pending[d.i] = d.rep
		for rep, ok := pending[next]; ok; rep, ok = pending[next] {
			delete(pending, next)
			<-window
			if emitErr == nil {
				emitErr = emit(items[next], rep)
			}
			next++
		}
	}
	if emitErr != nil {
		return emitErr
	}
	if next != len(items) {
		return fmt.Errorf("verified %d of %d archives: %w", next, len(items), context.Cause(ctx))
	}
	return nil
}

// verifyBulkItem is verify's check of one archive (runVerify) with the
// shared trust store and list. The signing time is the statement's
// (digest-v1) or unknown: no server.
func verifyBulkItem(ctx context.Context, env *bulkEnv, it bulkItem) *verifyReport {
	rep := &verifyReport{}
	in := verifypolicy.Input{
		Origin: chain.OriginUnknown, HasSignatureFile: true, Policy: env.pol,
		RequireRevocation: env.requireRevocation, Now: env.now, GraceUntil: env.grace,
	}
	if !noSignatureFile(&in, it.signature) {
		rep.res, in.Failure = verifyWithStore(ctx, env.ts, it.signature, it.archive)
		if in.Failure == nil {
			appKey := it.appKey
			if appKey == "" {
				appKey = env.appKey
			}
			loaded := func() (*revocationSource, []string, error) { return env.revs, nil, nil }
			var pv postVerified
			pv, in.Failure = checkVerified(ctx, env.ts, &env.paths, rep.res, appKey, nil, 0, loaded, env.now)
			in.Origin, in.Revocation, rep.warnings = pv.origin, pv.revocation, pv.warnings
		}
	}
	return rep.decide(in)
}

// errExitCode is the exit status an error carries.
func errExitCode(err error) int {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	return exitError
}

// causeOf names a failure as verify's JSON output does.
func causeOf(err error, code int) string {
	if errors.Is(err, chain.ErrOutOfScope) {
		return "out-of-scope"
	}
	if c, ok := causes[code]; ok {
		return c
	}
	return "error"
}

func printBulkSummary(w, ew io.Writer, output string, sum bulkSummary) error {
	if output == "json" {
		return json.NewEncoder(w).Encode(struct {
			Summary bulkSummary `json:"summary"`
		}{sum})
	}
	for _, warn := range sum.Warnings {
		fmt.Fprintf(ew, "warning: %s\n", warn)
	}
	causes := make([]string, 0, len(sum.ByCause))
	for c, n := range sum.ByCause {
		causes = append(causes, fmt.Sprintf("%s %d", c, n))
	}
	sort.Strings(causes)
	detail := ""
	if len(causes) > 0 {
		detail = " (" + strings.Join(causes, ", ") + ")"
	}
	_, err := fmt.Fprintf(w, "%d archive(s): %d valid, %d accepted by policy, %d failed%s in %.1fs (%.0f/s)\n",
		sum.Files, sum.Valid, sum.Accepted, sum.Failed, detail, sum.Seconds, sum.PerSec)
	return err
}

// bulkDirItems lists the archives under dir: every regular file (or
// symbolic link to one) whose name does not end in .sig, with ARCHIVE.sig
// as its signature file (if there is none, the archive is unsigned, decided
// as verify decides an archive without one). A signature file without its
// archive is reported as an item whose archive is missing. Nothing is
// skipped silently: anything else that is not a directory is an error.
func bulkDirItems(dir string) ([]bulkItem, error) {
	files := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
		case d.Type().IsRegular():
			files[path] = true
		case d.Type()&fs.ModeSymlink != 0:
			fi, err := os.Stat(path)
			if err != nil || !fi.Mode().IsRegular() {
				return fmt.Errorf("%s: a symbolic link to something other than a file", path)
			}
			files[path] = true
		default:
			return fmt.Errorf("%s: not a regular file (%s)", path, d.Type())
		}
		return nil
	})
	if err != nil {
		return nil, withCode(exitError, fmt.Errorf("--dir %s: %w", dir, err))
	}
	var items []bulkItem
	for path := range files {
		switch {
		case strings.HasSuffix(path, ".sig"):
			if archive := strings.TrimSuffix(path, ".sig"); !files[archive] {
				items = append(items, bulkItem{archive: archive, signature: path})
			}
		default:
			items = append(items, bulkItem{archive: path, signature: path + ".sig"})
		}
	}
	if len(items) == 0 {
		return nil, usagef("--dir %s: no archives found", dir)
	}
	slices.SortFunc(items, func(a, b bulkItem) int { return strings.Compare(a.archive, b.archive) })
	return items, nil
}

// bulkManifestItems reads a manifest: one archive per line, optionally
// followed by a tab, its signature file (default ARCHIVE.sig), a tab and
// the app key being installed. Blank lines and lines starting with # are
// skipped; relative paths are relative to the manifest's folder.
func bulkManifestItems(manifest string) ([]bulkItem, error) {
	f, err := os.Open(manifest)
	if err != nil {
		return nil, withCode(exitError, fmt.Errorf("--manifest: %w", err))
	}
	defer f.Close()
	base := filepath.Dir(manifest)
	rel := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	var items []bulkItem
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) > 3 || fields[0] == "" {
			return nil, withCode(exitUsage, &manifestLineError{manifest: manifest, line: n})
		}
		it := bulkItem{archive: rel(fields[0]), signature: rel(fields[0]) + ".sig"}
		if len(fields) > 1 && fields[1] != "" {
			it.signature = rel(fields[1])
		}
		if len(fields) > 2 {
			it.appKey = fields[2]
		}
		items = append(items, it)
	}
	if err := sc.Err(); err != nil {
		return nil, withCode(exitError, fmt.Errorf("--manifest %s: %w", manifest, err))
	}
	if len(items) == 0 {
		return nil, usagef("--manifest %s: no archives listed", manifest)
	}
	return items, nil
}

// manifestLineError is a manifest line that is not
// ARCHIVE[<TAB>SIGNATURE[<TAB>APP-KEY]] (line counts from 1).
type manifestLineError struct {
	manifest string
	line     int
}

func (e *manifestLineError) Error() string {
	return fmt.Sprintf("--manifest %s line %d: want ARCHIVE[<TAB>SIGNATURE[<TAB>APP-KEY]]", e.manifest, e.line)
}

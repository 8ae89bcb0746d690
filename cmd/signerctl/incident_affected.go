package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

// pageEntries calls fn for every entry req selects (listEntries pages
// through all of them: nothing is capped however many match).
func pageEntries(ctx context.Context, client signerv1.LedgerServiceClient, req *signerv1.ListEntriesRequest, fn func(*signerv1.LedgerEntry) error) error {
	for e, err := range listEntries(ctx, client, req, 0) {
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// countAffected is how many entries the ledger says revocation id covers.
func (r *incidentRun) countAffected(id int64) (int64, error) {
	var n int64
	err := pageEntries(r.cmd.Context(), signerv1.NewLedgerServiceClient(r.conn), &signerv1.ListEntriesRequest{RevocationId: id}, func(*signerv1.LedgerEntry) error {
		n++
		return nil
	})
	return n, err
}

// appTrack keys the report's breakdown.
type appTrack struct{ App, Track string }

// resignItem is one affected app version to sign again: the first affected
// entry of its (app, version, track, archive, profile), whose id names the
// re-sign idempotency key.
type resignItem struct {
	entry *signerv1.LedgerEntry
	path  string // the archive; "" for a digest-profile entry
}

func (it resignItem) digest() bool { return it.entry.GetProfile() == "digest-v1" }

// affectedSet is what one revocation covers, read from the ledger.
type affectedSet struct {
	entries  int64              // every affected entry
	byApp    map[appTrack]int64 // entries by app and track
	versions []resignItem       // distinct versions to re-sign, in entry id order
	revoked  []resignItem       // versions whose archive is itself revoked: never re-signed
}

// affected pages through the entries req selects (a revocation's, or the
// key version's from T for a plan) and groups them into versions.
func (r *incidentRun) affected(req *signerv1.ListEntriesRequest) (*affectedSet, error) {
	ctx := r.cmd.Context()
	revokedArchives, err := r.revokedArchives()
	if err != nil {
		return nil, err
	}
	set := &affectedSet{byApp: map[appTrack]int64{}}
	seen := map[string]bool{}
	err = pageEntries(ctx, signerv1.NewLedgerServiceClient(r.conn), req, func(e *signerv1.LedgerEntry) error {
		set.entries++
		set.byApp[appTrack{e.GetAppKey(), trackText(e.GetTrack())}]++
		k := strings.Join([]string{e.GetAppKey(), e.GetVersion(), e.GetTrack().String(), hex.EncodeToString(e.GetSha256()), e.GetProfile()}, "\x00")
		if seen[k] {
			return nil
		}
		seen[k] = true
		if revokedArchives[hex.EncodeToString(e.GetSha256())] {
			set.revoked = append(set.revoked, resignItem{entry: e})
			return nil
		}
		set.versions = append(set.versions, resignItem{entry: e})
		return nil
	})
	return set, err
}

// revokedArchives are the archives (hex SHA-256) revoked as such: a new
// signature over one would be revoked too, so they are reported, not
// re-signed.
func (r *incidentRun) revokedArchives() (map[string]bool, error) {
	resp, err := signerv1.NewTrustServiceClient(r.conn).ListRevocations(r.cmd.Context(), &signerv1.ListRevocationsRequest{})
	if err != nil {
		return nil, rpcError("list revocations", err)
	}
	out := map[string]bool{}
	for _, v := range resp.GetRevocations() {
		if v.GetKind() == signerv1.RevocationKind_REVOCATION_KIND_ARCHIVE {
			out[strings.ToLower(v.GetArchiveSha256())] = true
		}
	}
	return out, nil
}

// archiveFinder locates the archive of an affected version.
type archiveFinder struct {
	dir      string            // --archives: DIR/<app-key>/<version>/<archive>
	bySHA256 map[string]string // --manifest: hex SHA-256 → path
}

func newArchiveFinder(dir, manifest string) (*archiveFinder, error) {
	f := &archiveFinder{dir: dir}
	if manifest == "" {
		return f, nil
	}
	file, err := os.Open(manifest)
	if err != nil {
		return nil, withCode(exitError, fmt.Errorf("--manifest: %w", err))
	}
	defer file.Close()
	f.bySHA256 = map[string]string{}
	base := filepath.Dir(manifest)
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// "<sha256 hex>  <path>" (sha256sum's format) names the digest;
		// a bare path is hashed here.
		sum, path := "", line
		if h, rest, ok := strings.Cut(line, " "); ok && len(h) == 64 && isHex(h) {
			sum, path = strings.ToLower(h), strings.TrimPrefix(strings.TrimSpace(rest), "*")
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(base, path)
		}
		if sum == "" {
			var err error
			if sum, err = fileSHA256(path); err != nil {
				return nil, withCode(exitError, fmt.Errorf("--manifest %s: %w", manifest, err))
			}
		}
		f.bySHA256[sum] = path
	}
	if err := sc.Err(); err != nil {
		return nil, withCode(exitError, fmt.Errorf("--manifest %s: %w", manifest, err))
	}
	return f, nil
}

// find returns the archive of e, or why there is none. In the nested
// layout a version directory with one archive is taken as it is (its
// SHA-256 is checked when it is read); with several, the one whose SHA-256
// is the entry's.
func (f *archiveFinder) find(e *signerv1.LedgerEntry) (string, string) {
	want := hex.EncodeToString(e.GetSha256())
	if f.bySHA256 != nil {
		if p, ok := f.bySHA256[want]; ok {
			return p, ""
		}
		return "", "no archive with sha256 " + want + " in --manifest"
	}
	if f.dir == "" {
		return "", "no --archives or --manifest given"
	}
	vdir := filepath.Join(f.dir, e.GetAppKey(), e.GetVersion())
	des, err := os.ReadDir(vdir)
	if err != nil {
		return "", "no directory " + vdir
	}
	var cands []string
	for _, de := range des {
		name := de.Name()
		if de.Type().IsRegular() && !strings.HasSuffix(name, ".sig") && !strings.HasSuffix(name, ".tmp") {
			cands = append(cands, filepath.Join(vdir, name))
		}
	}
	sort.Strings(cands)
	if len(cands) == 1 {
		return cands[0], ""
	}
	for _, p := range cands {
		if sum, err := fileSHA256(p); err == nil && sum == want {
			return p, ""
		}
	}
	return "", fmt.Sprintf("no archive with sha256 %s in %s", want, vdir)
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

// incidentReport is report.json: what the incident command did, with its
// counts checked against the ledger.
type incidentReport struct {
	Key           string    `json:"key"`
	KeyVersion    int32     `json:"key_version"`
	NewKeyVersion int32     `json:"new_key_version"`
	Rotated       bool      `json:"rotated_by_this_command"`
	Fingerprint   string    `json:"fingerprint"`
	CertIssuer    string    `json:"certificate_issuer"`
	CertSerial    string    `json:"cert_serial"`
	From          time.Time `json:"from"`
	Reason        string    `json:"reason"`

	KeyRevocationID    int64              `json:"key_revocation_id"`
	KeyAffected        int64              `json:"key_revocation_affected"`
	CertRevocationID   int64              `json:"certificate_revocation_id"`
	CertAffected       int64              `json:"certificate_revocation_affected"`
	Approvals          map[string]string  `json:"approvals,omitempty"`
	AffectedByApp      []appTrackCount    `json:"affected_by_app_and_track"`
	AffectedVersions   int64              `json:"affected_versions"`
	Resign             resignCounts       `json:"resign"`
	ResignedByApp      []appTrackCount    `json:"resigned_by_app_and_track"`
	ResignedInLedger   int64              `json:"resigned_in_ledger"`
	MissingFile        string             `json:"missing_archives_file"`
	RevocationList     uint64             `json:"revocation_list_version"`
	RevocationListFile string             `json:"revocation_list_file"`
	CRLNumber          int64              `json:"crl_number"`
	CRLFile            string             `json:"crl_file"`
	BundleVersion      uint64             `json:"bundle_version"`
	BundleDir          string             `json:"bundle_dir"`
	LedgerCheck        []string           `json:"ledger_check_problems"`
	PhaseSeconds       map[string]float64 `json:"phase_seconds"`
	Started            time.Time          `json:"started"`
	Finished           time.Time          `json:"finished"`
}

type appTrackCount struct {
	App   string `json:"app_key"`
	Track string `json:"track"`
	Count int64  `json:"count"`
}

func sortedCounts(m map[appTrack]int64) []appTrackCount {
	out := make([]appTrackCount, 0, len(m))
	for k, n := range m {
		out = append(out, appTrackCount{k.App, k.Track, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].App != out[j].App {
			return out[i].App < out[j].App
		}
		return out[i].Track < out[j].Track
	})
	return out
}

// report writes report.json and report.txt and fails when the ledger
// disagrees with what the phases recorded.
func (r *incidentRun) report() error {
	rep, err := r.checkAgainstLedger()
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := writeSigFile(filepath.Join(r.o.out, "report.json"), append(b, '\n')); err != nil {
		return err
	}
	var txt strings.Builder
	writeReportText(&txt, rep)
	if err := writeSigFile(filepath.Join(r.o.out, "report.txt"), []byte(txt.String())); err != nil {
		return err
	}
	if len(rep.LedgerCheck) > 0 {
		return withCode(exitError, fmt.Errorf("the report's counts differ from the ledger's (%s): %s", filepath.Join(r.o.out, "report.json"), strings.Join(rep.LedgerCheck, "; ")))
	}
	return nil
}

// checkAgainstLedger builds the report from the ledger, independently of
// the phases' own counts, and lists every difference: the revocations'
// totals against ListEntries by revocation, and the re-signatures
// (ListEntries by the re-sign key prefix) against the affected versions —
// exactly one per version with an archive, none for another, none by the
// compromised version.
func (r *incidentRun) checkAgainstLedger() (*incidentReport, error) {
	st := r.st
	rep := &incidentReport{
		Key: st.Key, KeyVersion: st.KeyVersion, NewKeyVersion: st.NewKeyVersion, Rotated: st.Rotated, Fingerprint: st.Fingerprint,
		CertIssuer: st.CertIssuer, CertSerial: st.CertSerial, From: st.From, Reason: st.Reason,
		KeyRevocationID: st.KeyRevocationID, KeyAffected: st.KeyAffectedTotal, CertRevocationID: st.CertRevocationID, CertAffected: st.CertAffectedTotal,
		Approvals: st.Approvals, Resign: st.Resign, MissingFile: filepath.Join(r.o.out, "missing-archives.txt"),
		RevocationList: st.ListVersion, RevocationListFile: st.ListFile, CRLNumber: st.CRLNumber, CRLFile: st.CRLFile,
		BundleVersion: st.BundleVersion, BundleDir: st.BundleDir, Started: st.Started, Finished: time.Now().UTC(), PhaseSeconds: st.PhaseSeconds,
	}
	problem := func(format string, args ...any) {
		rep.LedgerCheck = append(rep.LedgerCheck, fmt.Sprintf(format, args...))
	}

	set, err := r.affected(&signerv1.ListEntriesRequest{RevocationId: st.KeyRevocationID})
	if err != nil {
		return nil, err
	}
	rep.AffectedByApp, rep.AffectedVersions = sortedCounts(set.byApp), int64(len(set.versions))
	if set.entries != st.KeyAffectedTotal {
		problem("key revocation %d: the ledger lists %d entries, the revocation reported %d", st.KeyRevocationID, set.entries, st.KeyAffectedTotal)
	}
	if n, err := r.countAffected(st.CertRevocationID); err != nil {
		return nil, err
	} else if n != st.CertAffectedTotal {
		problem("certificate revocation %d: the ledger lists %d entries, the revocation reported %d", st.CertRevocationID, n, st.CertAffectedTotal)
	}
	if int64(len(set.versions)) != st.Resign.Versions || int64(len(set.revoked)) != st.Resign.ArchiveRevoked {
		problem("the ledger has %d affected versions to re-sign (%d with a revoked archive), the re-sign phase handled %d (%d)",
			len(set.versions), len(set.revoked), st.Resign.Versions, st.Resign.ArchiveRevoked)
	}
	missing, err := readMissing(rep.MissingFile)
	if err != nil {
		return nil, err
	}
	// Every affected version may hold one re-signature; those with an
	// archive must. A version whose archive is missing now may still hold
	// one from an earlier, interrupted run made while its archive was there.
	want := map[int64]*signerv1.LedgerEntry{}
	for _, it := range set.versions {
		want[it.entry.GetId()] = it.entry
	}
	var resignedMissing int64
	prefix := fmt.Sprintf("resign:r%d:e", st.KeyRevocationID)
	got := map[int64]bool{}
	byApp := map[appTrack]int64{}
	// No re-signature under revocation R predates R (its key names R), so
	// the listing starts at R's time (less a margin for replicas' clocks)
	// and walks only what was signed since, not the whole table per page.
	since := timestamppb.New(st.KeyRevokedAt.Add(-10 * time.Minute))
	err = pageEntries(r.cmd.Context(), signerv1.NewLedgerServiceClient(r.conn), &signerv1.ListEntriesRequest{IdempotencyKeyPrefix: prefix, SignedFrom: since}, func(e *signerv1.LedgerEntry) error {
		rep.ResignedInLedger++
		id, perr := strconv.ParseInt(strings.TrimPrefix(e.GetIdempotencyKey(), prefix), 10, 64)
		orig, ok := want[id]
		switch {
		case perr != nil || !ok:
			problem("ledger entry %d (%s) re-signs no affected version", e.GetId(), e.GetIdempotencyKey())
		case got[id]:
			problem("affected entry %d is re-signed twice (ledger entry %d)", id, e.GetId())
		case e.GetKeyId() == st.Key && e.GetKeyVersion() == st.KeyVersion, e.GetRevoked():
			problem("ledger entry %d re-signs entry %d with the compromised key or is itself revoked", e.GetId(), id)
		case e.GetAppKey() != orig.GetAppKey() || e.GetVersion() != orig.GetVersion() || string(e.GetSha256()) != string(orig.GetSha256()):
			problem("ledger entry %d re-signs entry %d but names another app version or archive", e.GetId(), id)
		}
		if ok && missing[id] && !got[id] {
			resignedMissing++
		}
		got[id] = true
		byApp[appTrack{e.GetAppKey(), trackText(e.GetTrack())}]++
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep.ResignedByApp = sortedCounts(byApp)
	for id := range want {
		if !got[id] && !missing[id] {
			problem("affected entry %d has an archive but no re-signature in the ledger", id)
		}
	}
	if done := st.Resign.Signed + st.Resign.Replayed; rep.ResignedInLedger != done+resignedMissing || int64(len(missing)) != st.Resign.Missing {
		problem("the ledger holds %d re-signatures (%d of versions whose archive is now missing) and %d versions lack an archive; the re-sign phase reported %d and %d",
			rep.ResignedInLedger, resignedMissing, len(missing), done, st.Resign.Missing)
	}
	sort.Strings(rep.LedgerCheck)
	return rep, nil
}

// readMissing reads the entry ids of missing-archives.txt.
func readMissing(path string) (map[int64]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, withCode(exitError, err)
	}
	defer f.Close()
	out := map[int64]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var id int64
		if _, err := fmt.Sscanf(sc.Text(), "entry %d", &id); err == nil {
			out[id] = true
		}
	}
	return out, sc.Err()
}

func writeReportText(w io.Writer, rep *incidentReport) {
	fmt.Fprintf(w, "Key compromise: key %s version %d (fingerprint %s), from %s, reason %s\n",
		rep.Key, rep.KeyVersion, rep.Fingerprint, rep.From.Format(time.RFC3339Nano), rep.Reason)
	rot := "was already rotated"
	if rep.Rotated {
		rot = "rotated by this command"
	}
	fmt.Fprintf(w, "New signing version: %s v%d (%s)\n", rep.Key, rep.NewKeyVersion, rot)
	fmt.Fprintf(w, "Revocations: key %d (%d signatures), certificate %s serial %s: %d (%d signatures)\n",
		rep.KeyRevocationID, rep.KeyAffected, rep.CertIssuer, rep.CertSerial, rep.CertRevocationID, rep.CertAffected)
	fmt.Fprintf(w, "Affected: %d signatures, %d distinct versions\n", rep.KeyAffected, rep.AffectedVersions)
	for _, c := range rep.AffectedByApp {
		fmt.Fprintf(w, "  %-40s %-14s %d\n", c.App, c.Track, c.Count)
	}
	fmt.Fprintf(w, "Re-signed: %d versions (%d new, %d already recorded) in %.1f s; in the ledger: %d\n",
		rep.Resign.Signed+rep.Resign.Replayed, rep.Resign.Signed, rep.Resign.Replayed, rep.Resign.Seconds, rep.ResignedInLedger)
	fmt.Fprintf(w, "Not re-signed: %d missing archives (%s), %d with a revoked archive\n", rep.Resign.Missing, rep.MissingFile, rep.Resign.ArchiveRevoked)
	fmt.Fprintf(w, "Published: revocation list version %d (%s), CRL number %d (%s)\n", rep.RevocationList, rep.RevocationListFile, rep.CRLNumber, rep.CRLFile)
	fmt.Fprintf(w, "Trust bundle: version %d in %s\n", rep.BundleVersion, rep.BundleDir)
	if len(rep.LedgerCheck) == 0 {
		fmt.Fprintf(w, "Ledger check: the counts above match the ledger\n")
	} else {
		fmt.Fprintf(w, "Ledger check FAILED:\n  %s\n", strings.Join(rep.LedgerCheck, "\n  "))
	}
	fmt.Fprintf(w, "Wall time: %.1f s since the first run began; phases:", rep.Finished.Sub(rep.Started).Seconds())
	for _, p := range incidentPhases {
		if sec, ok := rep.PhaseSeconds[p]; ok {
			fmt.Fprintf(w, " %s %.1f s,", p, sec)
		}
	}
	fmt.Fprintln(w, " report (this one)")
}

// finish prints the report and fails when archives were missing.
func (r *incidentRun) finish() error {
	name := "report.txt"
	if r.o.output == "json" {
		name = "report.json"
	}
	b, err := os.ReadFile(filepath.Join(r.o.out, name))
	if err != nil {
		return withCode(exitError, err)
	}
	r.cmd.OutOrStdout().Write(b)
	if n := r.st.Resign.Missing; n > 0 {
		return withCode(exitError, fmt.Errorf("%d affected version(s) were not re-signed: no archive (listed in %s); add them and run the same command again",
			n, filepath.Join(r.o.out, "missing-archives.txt")))
	}
	return nil
}

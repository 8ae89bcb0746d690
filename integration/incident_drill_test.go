package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/pgtest"
)

// incidentDrillN is the drill's size: N affected and N unaffected
// signatures ($INCIDENT_DRILL_N; `make drill` runs issue 16's 100,000).
func incidentDrillN(t *testing.T) int {
	t.Helper()
	s := os.Getenv("INCIDENT_DRILL_N")
	if s == "" {
		return 300
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 20 {
		t.Fatalf("INCIDENT_DRILL_N=%q: want a number of at least 20", s)
	}
	return n
}

// incidentReportJSON is the part of report.json the drill reads.
type incidentReportJSON struct {
	KeyVersion       int32 `json:"key_version"`
	NewKeyVersion    int32 `json:"new_key_version"`
	KeyRevocationID  int64 `json:"key_revocation_id"`
	KeyAffected      int64 `json:"key_revocation_affected"`
	CertRevocationID int64 `json:"certificate_revocation_id"`
	CertAffected     int64 `json:"certificate_revocation_affected"`
	AffectedByApp    []struct {
		App   string `json:"app_key"`
		Track string `json:"track"`
		Count int64  `json:"count"`
	} `json:"affected_by_app_and_track"`
	Resign struct {
		Versions int64   `json:"versions"`
		Signed   int64   `json:"signed"`
		Replayed int64   `json:"replayed"`
		Missing  int64   `json:"missing_archives"`
		Seconds  float64 `json:"seconds"`
	} `json:"resign"`
	ResignedInLedger int64              `json:"resigned_in_ledger"`
	RevocationList   uint64             `json:"revocation_list_version"`
	CRLNumber        int64              `json:"crl_number"`
	BundleDir        string             `json:"bundle_dir"`
	LedgerCheck      []string           `json:"ledger_check_problems"`
	PhaseSeconds     map[string]float64 `json:"phase_seconds"`
}

func readIncidentReport(t *testing.T, dir string) incidentReportJSON {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	must(t, err)
	var rep incidentReportJSON
	must(t, json.Unmarshal(b, &rep))
	return rep
}

// seedVersions writes n small archives (1–3 KB, distinct) in backfill's
// layout under dir: 5 apps, versions <prefix>.<i>.
func seedVersions(t *testing.T, dir, prefix string, n int) {
	t.Helper()
	for i := range n {
		d := filepath.Join(dir, fmt.Sprintf("com.example.drill%d", i%5), fmt.Sprintf("%s.%d", prefix, i))
		must(t, os.MkdirAll(d, 0o755))
		content := bytes.Repeat(fmt.Appendf(nil, "%s archive %d;", prefix, i), 1+(i%3)*64)
		must(t, os.WriteFile(filepath.Join(d, "app.jar"), content, 0o644))
	}
}

// sigFiles maps every .sig file under dir to its content.
func sigFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	must(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".sig") {
			b, rerr := os.ReadFile(p)
			out[p] = string(b)
			return rerr
		}
		return err
	}))
	return out
}

// countEntries counts the ledger entries a `ledger list` filter selects.
func countEntries(t *testing.T, addr string, filter ...string) int {
	t.Helper()
	out := mustSignerctl(t, append([]string{"ledger", "list", "--server", addr, "--output", "json"}, filter...)...)
	return strings.Count(out, "\n")
}

// TestIncidentKeyCompromiseDrill is issue 16's drill: N signatures before T
// and N after it, all seeded through SignBatch (signerctl backfill); the key
// is compromised at T and `signerctl incident key-compromise` handles it.
// Then, offline, bulk verify with the exact revocation list of the bundle
// it exported accepts exactly the pre-T and re-signed signatures and
// rejects every post-T original; a replay of a revoked entry is refused.
// A second compromise (of the rotated-in version) is run in pieces —
// stopped after a phase, killed mid re-sign, missing archives — and the
// reruns finish it with exactly one re-signature per affected version.
func TestIncidentKeyCompromiseDrill(t *testing.T) {
	requirePostgresBinaries(t)
	n := incidentDrillN(t)
	srv := startDev(t, "--database-url", pgtest.URL(t))
	_, ctl := binaries(t)
	work := t.TempDir()
	truststore := filepath.Join(work, "truststore")
	mustSignerctl(t, "bundle", "get", "--server", srv.Addr, "--out", truststore)

	customer := filepath.Join(work, "customer")
	before, after := filepath.Join(customer, "before"), filepath.Join(customer, "after")
	seedVersions(t, before, "1.0", n)
	seedVersions(t, after, "2.0", n)
	seedStart := time.Now()
	mustSignerctl(t, "backfill", "--server", srv.Addr, "--progress=false", "--concurrency", "4", before)
	time.Sleep(20 * time.Millisecond)
	from := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)
	mustSignerctl(t, "backfill", "--server", srv.Addr, "--progress=false", "--concurrency", "4", after)
	seedTook := time.Since(seedStart)

	// What customers hold: the post-T originals, kept aside.
	originals := filepath.Join(work, "originals")
	for p, sig := range sigFiles(t, after) {
		rel, err := filepath.Rel(after, p)
		must(t, err)
		dst := filepath.Join(originals, rel)
		must(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		must(t, os.Link(strings.TrimSuffix(p, ".sig"), strings.TrimSuffix(dst, ".sig")))
		must(t, os.WriteFile(dst, []byte(sig), 0o644))
	}

	out := filepath.Join(work, "incident")
	args := func(out, archives string, from time.Time, bundleVersion int, extra ...string) []string {
		return append([]string{"incident", "key-compromise", "--server", srv.Addr, "--key", "dev-signing",
			"--from", from.Format(time.RFC3339Nano), "--out", out, "--archives", archives,
			"--bundle-key", filepath.Join(srv.DataDir, "keys", "bundle-signer.key"),
			"--bundle-signer-cert", filepath.Join(srv.DataDir, "pki", "bundle-signer.crt"),
			"--bundle-version", strconv.Itoa(bundleVersion)}, extra...)
	}

	// The plan changes nothing.
	var plan struct {
		Rotate          bool     `json:"rotate"`
		AffectedEntries int64    `json:"affected_entries"`
		ResignVersions  int64    `json:"resign_versions"`
		Missing         []string `json:"missing_archives"`
	}
	must(t, json.Unmarshal([]byte(mustSignerctl(t, append(args(out, after, from, 1000), "--dry-run", "--output", "json")...)), &plan))
	if !plan.Rotate || plan.AffectedEntries != int64(n) || plan.ResignVersions != int64(n) || len(plan.Missing) != 0 {
		t.Fatalf("plan = %+v, want rotate, %d affected and re-signed, none missing", plan, n)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("--dry-run wrote %s (%v)", out, err)
	}
	if revs := mustSignerctl(t, "revoke", "list", "--server", srv.Addr, "--output", "json"); strings.Contains(revs, "REVOCATION_KIND_KEY") || strings.Contains(revs, `"key"`) {
		t.Fatalf("--dry-run revoked something:\n%s", revs)
	}

	// The incident, uninterrupted and timed.
	start := time.Now()
	r := signerctl(t, args(out, after, from, 1000)...)
	wall := time.Since(start)
	if r.code != 0 {
		t.Fatalf("incident: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rep := readIncidentReport(t, out)
	var byApp int64
	for _, c := range rep.AffectedByApp {
		byApp += c.Count
	}
	if rep.KeyAffected != int64(n) || rep.CertAffected != int64(n) || byApp != int64(n) || rep.Resign.Signed != int64(n) ||
		rep.Resign.Replayed != 0 || rep.Resign.Missing != 0 || rep.ResignedInLedger != int64(n) || len(rep.LedgerCheck) != 0 {
		t.Fatalf("report = %+v; want %d affected (by both revocations and by app), re-signed and in the ledger, none missing", rep, n)
	}
	wantContains(t, "report.txt", r.stdout, "Ledger check: the counts above match the ledger")
	// Exactly one new signature per affected version, by the new version.
	if got := countEntries(t, srv.Addr, "--key-id", "dev-signing", "--key-version", strconv.Itoa(int(rep.NewKeyVersion))); got != n {
		t.Fatalf("the new key version signed %d entries, want %d", got, n)
	}

	// A replay of a revoked entry (backfill's own idempotency key) is refused.
	replay := filepath.Join(work, "replay")
	var one string
	for p := range sigFiles(t, originals) {
		one = strings.TrimSuffix(p, ".sig")
		break
	}
	rel, err := filepath.Rel(originals, one)
	must(t, err)
	must(t, os.MkdirAll(filepath.Dir(filepath.Join(replay, rel)), 0o755))
	must(t, os.Link(one, filepath.Join(replay, rel)))
	rr := signerctl(t, "backfill", "--server", srv.Addr, "--progress=false", replay)
	if rr.code == 0 || !strings.Contains(rr.stderr, "FailedPrecondition") || !strings.Contains(rr.stderr, fmt.Sprintf("revocation %d", rep.KeyRevocationID)) ||
		!strings.Contains(rr.stderr, fmt.Sprintf("resign:r%d:e", rep.KeyRevocationID)) {
		t.Fatalf("replay of a revoked entry: exit %d\n%s%s\nwant FailedPrecondition naming revocation %d and its re-sign key", rr.code, rr.stdout, rr.stderr, rep.KeyRevocationID)
	}
	if _, err := os.Stat(filepath.Join(replay, rel) + ".sig"); err == nil {
		t.Fatal("the refused replay wrote a signature file")
	}

	// Offline: the customer installs the exported bundle (list and CRL in
	// it) and checks every file in one process.
	installed := filepath.Join(work, "truststore-installed")
	copyDir(t, truststore, installed)
	mustSignerctl(t, "bundle", "install", "--truststore", installed, rep.BundleDir)
	vstart := time.Now()
	vr := signerctl(t, "verify", "--output", "json", "--truststore", installed, "--dir", customer, "--workers", "2")
	vtook := time.Since(vstart)
	lines, sum := readBulk(t, vr.stdout)
	if vr.code != 0 || sum.Files != 2*n || sum.Valid != 2*n || sum.Version != rep.RevocationList {
		t.Fatalf("bulk verify of the pre-T and re-signed files: exit %d, summary %+v; want %d valid with list version %d\nstderr: %s",
			vr.code, sum, 2*n, rep.RevocationList, vr.stderr)
	}
	for _, l := range lines {
		if !l.Valid {
			t.Fatalf("bulk verify refused %s (%s)", l.Archive, l.Cause)
		}
	}
	vr = signerctl(t, "verify", "--output", "json", "--truststore", installed, "--dir", originals, "--workers", "2")
	lines, osum := readBulk(t, vr.stdout)
	if vr.code != 8 || osum.Files != n || osum.Valid != 0 || osum.ByCause["revoked"] != n {
		t.Fatalf("bulk verify of the post-T originals: exit %d, summary %+v; want exit 8 and all %d revoked\nstderr: %s", vr.code, osum, n, vr.stderr)
	}
	for _, l := range lines {
		if l.Valid || l.Cause != "revoked" {
			t.Fatalf("post-T original %s: valid %v cause %q, want revoked", l.Archive, l.Valid, l.Cause)
		}
	}
	// A thief's signature made outside the service with the stolen key
	// file, over a new archive, is refused offline whatever it claims.
	stolen, err := softkms.ReadKeyFile(filepath.Join(srv.DataDir, "keys", "signing.key"))
	must(t, err)
	oldCertPEM, err := os.ReadFile(filepath.Join(srv.DataDir, "pki", "signing.crt"))
	must(t, err)
	thief := filepath.Join(work, "thief")
	must(t, os.MkdirAll(thief, 0o755))
	must(t, os.WriteFile(filepath.Join(thief, "evil.jar"), []byte("evil archive"), 0o644))
	writeSignatureFile(t, filepath.Join(thief, "evil.jar"), stolen, oldCertPEM)
	if code, vrep := verifyJSON(t, "--truststore", installed, filepath.Join(thief, "evil.jar")); code != 8 || vrep.Revoked == nil {
		t.Fatalf("the thief's signature offline: exit %d %+v, want 8 (revoked)", code, vrep)
	}
	recordIncidentDrill(t, n, seedTook, wall, rep, sum.PerSec, vtook, 2*n)

	// The second compromise, of the version the first incident rotated in,
	// run in pieces.
	m := max(n/5, 60)
	after2 := filepath.Join(work, "after2")
	seedVersions(t, after2, "3.0", m)
	time.Sleep(20 * time.Millisecond)
	from2 := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)
	mustSignerctl(t, "backfill", "--server", srv.Addr, "--progress=false", after2)
	out2 := filepath.Join(work, "incident2")
	origSigs := sigFiles(t, after2)

	// 1. Stopped after the revocations (a test hook): nothing re-signed.
	mustSignerctl(t, append(args(out2, after2, from2, 1001), "--stop-after", "revoke-certificate")...)
	var st struct {
		Done map[string]bool `json:"done"`
	}
	readState := func() {
		b, err := os.ReadFile(filepath.Join(out2, "incident-state.json"))
		must(t, err)
		must(t, json.Unmarshal(b, &st))
	}
	readState()
	if !st.Done["revoke-certificate"] || st.Done["re-sign"] {
		t.Fatalf("state after --stop-after revoke-certificate: %v", st.Done)
	}

	// 2. Killed (SIGKILL) once the first re-signature file is written.
	cmd := exec.Command(ctl, append(args(out2, after2, from2, 1001), "--workers", "1", "--batch-items", "2")...)
	must(t, cmd.Start())
	for changed := false; !changed; {
		for p, s := range origSigs {
			if b, err := os.ReadFile(p); err == nil && string(b) != s {
				changed = true
				break
			}
		}
	}
	must(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	readState()
	if st.Done["re-sign"] {
		t.Logf("the kill came after the re-sign phase finished (a loaded machine); the reruns below still must not duplicate")
	}

	// 3. Rerun with three archives gone: every phase finishes, the three
	// are reported missing and the exit status is 1.
	var gone []string
	away := filepath.Join(work, "away")
	must(t, os.MkdirAll(away, 0o755))
	// The first to go is one the killed run already re-signed (its .sig
	// changed): the rerun counts it missing, and the report's ledger check
	// accepts the re-signature the earlier run recorded for it. Then any two.
	var picks []string
	for p, orig := range origSigs {
		if b, err := os.ReadFile(p); err == nil && string(b) != orig {
			picks = append(picks, p)
			break
		}
	}
	for p := range origSigs {
		if len(picks) == 3 {
			break
		}
		if len(picks) == 0 || p != picks[0] {
			picks = append(picks, p)
		}
	}
	for _, p := range picks {
		a := strings.TrimSuffix(p, ".sig")
		must(t, os.Rename(a, filepath.Join(away, strconv.Itoa(len(gone)))))
		gone = append(gone, a)
	}
	r = signerctl(t, args(out2, after2, from2, 1001)...)
	rep2 := readIncidentReport(t, out2)
	// The killed run may have re-signed some of the three before their
	// archives went away: the ledger then holds up to m re-signatures, and
	// the report's check must accept them (one per version, never more).
	if r.code != 1 || !strings.Contains(r.stderr, "3 affected version(s) were not re-signed") || rep2.Resign.Missing != 3 ||
		rep2.ResignedInLedger < int64(m-3) || rep2.ResignedInLedger > int64(m) || len(rep2.LedgerCheck) != 0 {
		t.Fatalf("rerun with 3 archives missing: exit %d, report %+v\n%s%s\nwant exit 1, 3 missing, %d re-signed", r.code, rep2, r.stdout, r.stderr, m-3)
	}
	missing, err := os.ReadFile(filepath.Join(out2, "missing-archives.txt"))
	must(t, err)
	for _, a := range gone {
		rel, _ := filepath.Rel(after2, filepath.Dir(a))
		wantContains(t, "missing-archives.txt", string(missing), strings.ReplaceAll(rel, string(filepath.Separator), "\t"))
	}

	// 4. The archives are back: the last rerun re-signs those of the three
	// the killed run had not reached and replays the rest; the ledger holds
	// exactly one re-signature each.
	early := rep2.ResignedInLedger - int64(m-3)
	for i, a := range gone {
		must(t, os.Rename(filepath.Join(away, strconv.Itoa(i)), a))
	}
	r = signerctl(t, args(out2, after2, from2, 1001)...)
	rep2 = readIncidentReport(t, out2)
	if r.code != 0 || rep2.KeyAffected != int64(m) || rep2.Resign.Signed+rep2.Resign.Replayed != int64(m) || rep2.Resign.Signed < 3-early ||
		rep2.ResignedInLedger != int64(m) || len(rep2.LedgerCheck) != 0 {
		t.Fatalf("final rerun: exit %d, report %+v\n%s%s\nwant %d affected and re-signed once each", r.code, rep2, r.stdout, r.stderr, m)
	}
	if got := countEntries(t, srv.Addr, "--key-id", "dev-signing", "--key-version", strconv.Itoa(int(rep2.NewKeyVersion))); got != m {
		t.Fatalf("after the reruns the new key version signed %d entries, want %d (no duplicates)", got, m)
	}
	if got := countEntries(t, srv.Addr, "--revocation-id", strconv.FormatInt(rep2.KeyRevocationID, 10)); got != m {
		t.Fatalf("revocation %d covers %d entries, want %d", rep2.KeyRevocationID, got, m)
	}
	for p, s := range origSigs {
		if b, err := os.ReadFile(p); err != nil || string(b) == s {
			t.Fatalf("%s was not replaced by its re-signature (%v)", p, err)
		}
	}
}

// recordIncidentDrill writes the drill's figures to
// $INCIDENT_DRILL_RESULTS (bench/results/incident.txt under make drill).
func recordIncidentDrill(t *testing.T, n int, seed, wall time.Duration, rep incidentReportJSON, perSec float64, verify time.Duration, files int) {
	t.Helper()
	load, _ := os.ReadFile("/proc/loadavg")
	line := fmt.Sprintf("incident drill: N=%d affected + %d unaffected (seeded through SignBatch in %.1f s); %d CPUs, load average %s\n"+
		"  incident key-compromise wall time: %.1f s (re-sign phase %.1f s: %.0f signatures/s); phases (s): %v\n"+
		"  offline bulk verify: %d files in %.1f s, %.0f files/s (verify's own figure)\n",
		n, n, seed.Seconds(), runtime.NumCPU(), strings.TrimSpace(string(load)), wall.Seconds(), rep.Resign.Seconds, float64(rep.Resign.Signed)/max(rep.Resign.Seconds, 1e-9), rep.PhaseSeconds,
		files, verify.Seconds(), perSec)
	t.Log(line)
	if path := os.Getenv("INCIDENT_DRILL_RESULTS"); path != "" {
		must(t, os.WriteFile(path, []byte(time.Now().UTC().Format(time.RFC3339)+" "+line), 0o644))
	}
}

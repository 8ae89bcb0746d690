package integration

import (
	"bufio"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/revocation"
)

// offlineSigned is an archive signed with the key that will be
// compromised, with its ledger entry (0: never logged).
type offlineSigned struct {
	archive, sig string
	entry        int64
}

// TestOfflineExactRevocationDrill is the compromise drill on an
// air-gapped verifier: N archives are signed, the key is compromised from
// T after half of them, revoked from T, and the list is published; then
// the server is stopped. With the list alone (no server, no trusted
// signing time) exactly the signatures the ledger recorded before T
// verify; those made after T fail, and so does a thief's signature made
// with the stolen key outside the service (never logged), whatever it
// signs. The list's valid set is exactly the ledger's pre-T signatures.
// While the server still runs, --ledger-entry naming another entry (an
// early one, to date a late signature) is refused.
func TestOfflineExactRevocationDrill(t *testing.T) {
	requirePostgresBinaries(t)
	srv := startDev(t)
	work := t.TempDir()
	truststore := filepath.Join(work, "truststore")
	mustSignerctl(t, "bundle", "get", "--server", srv.Addr, "--out", truststore)
	oldCertPEM, err := os.ReadFile(filepath.Join(srv.DataDir, "pki", "signing.crt"))
	must(t, err)
	oldCert := filepath.Join(work, "old-signing.pem")
	must(t, os.WriteFile(oldCert, oldCertPEM, 0o644))
	// The thief copied the signing key file.
	stolen, err := softkms.ReadKeyFile(filepath.Join(srv.DataDir, "keys", "signing.key"))
	must(t, err)

	// The customer's folder: archives and their signature files as
	// delivered, signed with the key that will be compromised.
	customer := filepath.Join(work, "customer")
	must(t, os.MkdirAll(customer, 0o755))
	const n = 8
	sign := func(i int) offlineSigned {
		p := writeArchive(t, customer, fmt.Sprintf("app-%d.jar", i), 8<<10, uint64(100+i))
		return offlineSigned{p, p + ".sig", signEntry(t, srv.Addr, p, fmt.Sprintf("com.example.app%d", i), "1.0.0")}
	}
	var pre, post []offlineSigned
	for i := range n / 2 {
		pre = append(pre, sign(i))
	}
	time.Sleep(20 * time.Millisecond)
	compromisedFrom := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)
	for i := n / 2; i < n; i++ {
		post = append(post, sign(i))
	}
	thief := offlineSigned{archive: writeArchive(t, customer, "thief.jar", 8<<10, 999)}
	thief.sig = thief.archive + ".sig"
	writeSignatureFile(t, thief.archive, stolen, oldCertPEM)

	mustSignerctl(t, "key", "rotate", "--server", srv.Addr, "dev-signing")
	mustSignerctl(t, "revoke", "key", "--server", srv.Addr, "--cert", oldCert,
		"--effective-from", compromisedFrom.Format(time.RFC3339Nano), "--reason", "key-compromise")
	list := filepath.Join(work, "revocation.json")
	mustSignerctl(t, "revoke", "publish", "--server", srv.Addr, "--out", list)
	// Online, a signature is dated only by the ledger entry that records
	// this very signature over this very archive (issue 17, survivor 5).
	for _, s := range []offlineSigned{post[0], thief} {
		r := signerctl(t, "verify", "--output", "json", "--truststore", truststore, "--revocation-list", list, "--signature", s.sig,
			"--server", srv.Addr, "--ledger-entry", fmt.Sprint(pre[0].entry), s.archive)
		if r.code != 1 || !strings.Contains(r.stdout, "records another signature or archive") {
			t.Errorf("%s dated by pre-T ledger entry %d: exit %d\n%s%s; want exit 1, the entry refused",
				filepath.Base(s.archive), pre[0].entry, r.code, r.stdout, r.stderr)
		}
	}

	// The service goes away: everything below is offline.
	must(t, srv.Stop())

	// The list's valid set is exactly the ledger's pre-T signatures.
	raw, err := os.ReadFile(list)
	must(t, err)
	parsed, err := revocation.Parse(raw)
	must(t, err)
	if len(parsed.List.Keys) != 1 || !parsed.List.Keys[0].Exact {
		t.Fatalf("published list keys = %+v, want one exact key entry", parsed.List.Keys)
	}
	var want []string
	for _, s := range pre {
		want = append(want, digestOf(t, s))
	}
	slices.Sort(want)
	if got := parsed.List.Keys[0].Valid; !slices.Equal(got, want) {
		t.Errorf("valid set = %v\nwant the %d pre-T ledger signatures %v", got, len(want), want)
	}

	show := mustSignerctl(t, "revoke", "show", "--truststore", truststore, list)
	wantContains(t, "revoke show", show, fmt.Sprintf("exact: the %d signature(s) logged before then stay valid", len(pre)))

	cases := []struct {
		name string
		s    offlineSigned
		code int
	}{
		{"pre-T", pre[0], 0}, {"pre-T", pre[len(pre)-1], 0},
		{"post-T", post[0], 8}, {"post-T", post[len(post)-1], 8},
		{"thief, never logged", thief, 8},
	}
	for _, tc := range cases {
		code, rep := verifyJSON(t, "--truststore", truststore, "--revocation-list", list, "--signature", tc.s.sig, tc.s.archive)
		if code != tc.code {
			t.Errorf("%s %s offline: exit %d, %+v; want %d", tc.name, filepath.Base(tc.s.archive), code, rep, tc.code)
		}
		if tc.code == 8 && (rep.Revoked == nil || rep.Revoked.Kind != "key" || rep.Revoked.Reason != "key-compromise") {
			t.Errorf("%s offline: revocation not named: %+v", tc.name, rep)
		}
	}

	// Bulk, with the list installed in the trust store as bundle install
	// puts it, plus a tampered pre-T archive.
	tampered := filepath.Join(customer, "tampered.jar")
	b, err := os.ReadFile(pre[1].archive)
	must(t, err)
	b[len(b)/2] ^= 1
	must(t, os.WriteFile(tampered, b, 0o644))
	sigb, err := os.ReadFile(pre[1].sig)
	must(t, err)
	must(t, os.WriteFile(tampered+".sig", sigb, 0o644))
	installed := filepath.Join(work, "truststore-installed")
	copyDir(t, truststore, installed)
	must(t, os.MkdirAll(filepath.Join(installed, ".revocation"), 0o755))
	must(t, os.WriteFile(filepath.Join(installed, ".revocation", "revocation.json"), raw, 0o444))

	r := signerctl(t, "verify", "--output", "json", "--truststore", installed, "--dir", customer, "--workers", "3")
	lines, sum := readBulk(t, r.stdout)
	if r.code != 1 {
		t.Errorf("bulk verify with revoked and tampered files: exit %d, want 1 (mixed failures)\nstderr: %s", r.code, r.stderr)
	}
	wantCause := map[string]string{"thief.jar": "revoked", "tampered.jar": "bad-signature"}
	for _, s := range pre {
		wantCause[filepath.Base(s.archive)] = ""
	}
	for _, s := range post {
		wantCause[filepath.Base(s.archive)] = "revoked"
	}
	if len(lines) != len(wantCause) {
		t.Errorf("bulk verify printed %d results, want %d", len(lines), len(wantCause))
	}
	for _, l := range lines {
		name := filepath.Base(l.Archive)
		if c, ok := wantCause[name]; !ok || l.Cause != c || l.Valid != (c == "") {
			t.Errorf("bulk %s: valid %v cause %q; want cause %q", name, l.Valid, l.Cause, c)
		}
	}
	if sum.Files != len(wantCause) || sum.Valid != len(pre) || sum.Failed != len(post)+2 ||
		sum.ByCause["revoked"] != len(post)+1 || sum.ByCause["bad-signature"] != 1 || sum.Version != parsed.List.Version {
		t.Errorf("bulk summary = %+v; want %d files, %d valid, %d revoked, 1 bad-signature, list version %d",
			sum, len(wantCause), len(pre), len(post)+1, parsed.List.Version)
	}

	// Only the pre-T files, from a manifest: exit 0.
	var manifest strings.Builder
	for _, s := range pre {
		fmt.Fprintf(&manifest, "%s\n", filepath.Base(s.archive))
	}
	mpath := filepath.Join(customer, "manifest.txt")
	must(t, os.WriteFile(mpath, []byte(manifest.String()), 0o644))
	r = signerctl(t, "verify", "--output", "json", "--truststore", installed, "--manifest", mpath)
	if _, sum := readBulk(t, r.stdout); r.code != 0 || sum.Valid != len(pre) || sum.Failed != 0 {
		t.Errorf("bulk verify of the pre-T files: exit %d, summary %+v; want 0 with %d valid\nstderr: %s", r.code, sum, len(pre), r.stderr)
	}
}

// writeSignatureFile signs archive with key outside the service and
// writes ARCHIVE.sig with cert, as a thief would.
func writeSignatureFile(t *testing.T, archive string, key ed25519.PrivateKey, certPEM []byte) {
	t.Helper()
	b, err := os.ReadFile(archive)
	must(t, err)
	sf, err := chain.SignatureFile{Signature: ed25519.Sign(key, b), Certificate: certPEM}.Marshal()
	must(t, err)
	must(t, os.WriteFile(archive+".sig", sf, 0o644))
}

// digestOf is the revocation list's name for s's signature.
func digestOf(t *testing.T, s offlineSigned) string {
	t.Helper()
	a, err := os.ReadFile(s.archive)
	must(t, err)
	raw, err := os.ReadFile(s.sig)
	must(t, err)
	sf, err := chain.ParseSignatureFile(raw)
	must(t, err)
	sum := sha256.Sum256(a)
	return revocation.SignatureDigest(sum[:], sf.Signature)
}

// bulkLine is one per-file line of bulk verify's JSON output.
type bulkLine struct {
	Archive string `json:"archive"`
	Valid   bool   `json:"valid"`
	Cause   string `json:"cause"`
}

// bulkSummaryJSON is bulk verify's closing summary line.
type bulkSummaryJSON struct {
	Files   int            `json:"files"`
	Valid   int            `json:"valid"`
	Failed  int            `json:"failed"`
	ByCause map[string]int `json:"by_cause"`
	PerSec  float64        `json:"files_per_second"`
	Version uint64         `json:"revocation_list_version"`
}

// readBulk splits bulk verify's JSON lines into per-file results and the
// summary, which must come last.
func readBulk(t *testing.T, out string) ([]bulkLine, bulkSummaryJSON) {
	t.Helper()
	var lines []bulkLine
	var sum *bulkSummaryJSON
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if sum != nil {
			t.Fatalf("bulk output continues after the summary: %s", sc.Text())
		}
		var probe struct {
			Summary *bulkSummaryJSON `json:"summary"`
		}
		if err := json.Unmarshal(sc.Bytes(), &probe); err != nil {
			t.Fatalf("bulk output line is not JSON: %v: %s", err, sc.Text())
		}
		if probe.Summary != nil {
			sum = probe.Summary
			continue
		}
		var l bulkLine
		must(t, json.Unmarshal(sc.Bytes(), &l))
		lines = append(lines, l)
	}
	if sum == nil {
		t.Fatalf("bulk output has no summary:\n%s", out)
	}
	return lines, *sum
}

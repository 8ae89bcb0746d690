package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/revocation"
)

// bulkFixture is a trust store with an installed revocation list whose
// exact entry revokes the dev signing key but keeps the signatures of the
// "pre" archives, and a folder of archives signed with that key.
type bulkFixture struct {
	truststore, dir string
	pre, post       []string // archive paths
}

// newBulkFixture signs n archives (half kept by the list) and pads the
// list's valid set with extra unrelated digests up to listSize.
func newBulkFixture(tb testing.TB, n, listSize int) *bulkFixture {
	tb.Helper()
	base := tb.TempDir()
	now := time.Now()
	pki, err := chain.EnsureDevPKI(rand.Reader, filepath.Join(base, "dev"), now)
	if err != nil {
		tb.Fatal(err)
	}
	f := &bulkFixture{truststore: filepath.Join(base, "truststore"), dir: filepath.Join(base, "customer")}
	mustTB(tb, chain.WriteTrustStore(f.truststore, chain.BundleFor([]*x509.Certificate{pki.Root}, []*x509.Certificate{pki.Intermediate})))
	mustTB(tb, os.MkdirAll(f.dir, 0o755))
	var valid []string
	for i := range n {
		archive := make([]byte, 2<<10)
		_, _ = rand.Read(archive)
		path := filepath.Join(f.dir, fmt.Sprintf("app-%05d.jar", i))
		mustTB(tb, os.WriteFile(path, archive, 0o644))
		sig := ed25519.Sign(pki.SigningKey, archive)
		b, err := chain.SignatureFile{Signature: sig, Certificate: chain.CertificatePEM(pki.Signing)}.Marshal()
		mustTB(tb, err)
		mustTB(tb, os.WriteFile(path+".sig", b, 0o644))
		if i%2 == 0 {
			sum := sha256.Sum256(archive)
			valid = append(valid, revocation.SignatureDigest(sum[:], sig))
			f.pre = append(f.pre, path)
		} else {
			f.post = append(f.post, path)
		}
	}
	for i := len(valid); i < listSize; i++ {
		d := sha256.Sum256(fmt.Appendf(nil, "other signature %d", i))
		valid = append(valid, fmt.Sprintf("%x", d))
	}
	fp := sha256.Sum256(pki.Signing.RawSubjectPublicKeyInfo)
	l, err := revocation.Build(revocation.Input{Issuer: "test", Version: 1, IssuedAt: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour),
		Keys: []revocation.RevokedKey{{Fingerprint: fmt.Sprintf("%x", fp), EffectiveFrom: now.Add(-time.Hour), Reason: revocation.ReasonKeyCompromise, Exact: true, Valid: valid}}})
	mustTB(tb, err)
	b := softkms.New(softkms.Options{Dir: filepath.Join(base, "keys")})
	uri, err := b.CreateKey(tb.Context(), kms.CreateKeyRequest{Name: "revocation-signer"})
	mustTB(tb, err)
	signer, err := b.LoadSigner(tb.Context(), uri)
	mustTB(tb, err)
	tb.Cleanup(func() { _ = signer.Close() })
	rootKey := readPKCS8TB(tb, filepath.Join(base, "dev", "keys", "root-ca.key"))
	cert, err := revocation.NewSignerCertificate(rand.Reader, pki.Root, rootKey, signer.Public(), "test revocation signer", revocation.RevocationSigningPolicy(), now.Add(-time.Minute), time.Hour)
	mustTB(tb, err)
	env, err := revocation.Sign(tb.Context(), l, signer, cert)
	mustTB(tb, err)
	mustTB(tb, os.MkdirAll(filepath.Join(f.truststore, ".revocation"), 0o755))
	mustTB(tb, os.WriteFile(filepath.Join(f.truststore, ".revocation", "revocation.json"), env, 0o444))
	return f
}

// runVerifyCommand runs signerctl verify in process and returns stdout and
// the exit status main would use.
func runVerifyCommand(tb testing.TB, args ...string) (string, int) {
	tb.Helper()
	cmd := newVerifyCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(tb.Context())
	if err == nil {
		return out.String(), exitOK
	}
	var ce *codedError
	if errors.As(err, &ce) {
		return out.String(), ce.code
	}
	return out.String(), exitError
}

type bulkResult struct {
	Archive string `json:"archive"`
	Valid   bool   `json:"valid"`
	Cause   string `json:"cause"`
	Revoked *struct {
		Kind string `json:"kind"`
	} `json:"revoked"`
	Summary *bulkSummary `json:"summary"`
}

func parseBulk(tb testing.TB, out string) ([]bulkResult, bulkSummary) {
	tb.Helper()
	var lines []bulkResult
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r bulkResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			tb.Fatalf("not a JSON line: %v: %s", err, sc.Text())
		}
		lines = append(lines, r)
	}
	if len(lines) == 0 || lines[len(lines)-1].Summary == nil {
		tb.Fatalf("no summary last:\n%s", out)
	}
	return lines[:len(lines)-1], *lines[len(lines)-1].Summary
}

// TestBulkVerifyDecisions: one process over a folder of good (pre-T),
// revoked (post-T), tampered and unsigned archives and a signature without
// its archive decides each as single-file verify would, reports them in
// input order and counts them, and exits non-zero.
func TestBulkVerifyDecisions(t *testing.T) {
	f := newBulkFixture(t, 6, 0)
	b, err := os.ReadFile(f.pre[0])
	must(t, err)
	b[0] ^= 1
	tampered := filepath.Join(f.dir, "tampered.jar")
	must(t, os.WriteFile(tampered, b, 0o644))
	sig, err := os.ReadFile(f.pre[0] + ".sig")
	must(t, err)
	must(t, os.WriteFile(tampered+".sig", sig, 0o644))
	unsigned := filepath.Join(f.dir, "unsigned.jar")
	must(t, os.WriteFile(unsigned, []byte("no signature"), 0o644))
	orphan := filepath.Join(f.dir, "gone.jar")
	must(t, os.WriteFile(orphan+".sig", sig, 0o644))
	// A link to a revoked archive (and its signature) is verified, not skipped.
	link := filepath.Join(f.dir, "zz-link.jar")
	must(t, os.Symlink(f.post[0], link))
	must(t, os.Symlink(f.post[0]+".sig", link+".sig"))

	out, code := runVerifyCommand(t, "--truststore", f.truststore, "--dir", f.dir, "--output", "json", "--workers", "3")
	lines, sum := parseBulk(t, out)
	want := map[string]string{tampered: "bad-signature", unsigned: "malformed", orphan: "error", link: "revoked"}
	for _, p := range f.pre {
		want[p] = ""
	}
	for _, p := range f.post {
		want[p] = "revoked"
	}
	if len(lines) != len(want) {
		t.Fatalf("%d results, want %d:\n%s", len(lines), len(want), out)
	}
	for i, l := range lines {
		c, ok := want[l.Archive]
		if !ok || l.Cause != c || l.Valid != (c == "") {
			t.Errorf("%s: valid %v cause %q; want cause %q", l.Archive, l.Valid, l.Cause, c)
		}
		if c == "revoked" && (l.Revoked == nil || l.Revoked.Kind != "key") {
			t.Errorf("%s: revocation not named", l.Archive)
		}
		if i > 0 && lines[i-1].Archive >= l.Archive {
			t.Errorf("results not in input order: %s before %s", lines[i-1].Archive, l.Archive)
		}
	}
	if code != exitError || sum.Files != len(want) || sum.Valid != len(f.pre) || sum.Failed != len(f.post)+4 ||
		sum.ByCause["revoked"] != len(f.post)+1 || sum.ByCause["bad-signature"] != 1 || sum.Version != 1 {
		t.Errorf("exit %d, summary %+v; want exit %d, %d valid, %d revoked, 1 bad signature", code, sum, exitError, len(f.pre), len(f.post))
	}

	// The revoked ones alone, from a manifest with relative paths: one
	// shared failure, so its own exit status.
	var m strings.Builder
	for _, p := range f.post {
		fmt.Fprintf(&m, "%s\t%s.sig\n", filepath.Base(p), filepath.Base(p))
	}
	manifest := filepath.Join(f.dir, "revoked.txt")
	must(t, os.WriteFile(manifest, []byte("# the post-T files\n\n"+m.String()), 0o644))
	out, code = runVerifyCommand(t, "--truststore", f.truststore, "--manifest", manifest, "--output", "json")
	if _, sum := parseBulk(t, out); code != exitRevoked || sum.Failed != len(f.post) || sum.ByCause["revoked"] != len(f.post) {
		t.Errorf("manifest of revoked files: exit %d, summary %+v; want exit %d, all revoked", code, sum, exitRevoked)
	}
}

func TestBulkVerifyUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--truststore", dir, "--dir", dir, "--manifest", "m.txt"},
		{"--truststore", dir, "--dir", dir, "--server", "127.0.0.1:1"},
		{"--truststore", dir, "--dir", dir, "--ledger-entry", "3"},
		{"--truststore", dir, "--dir", dir, "--signature", "x.sig"},
		{"--truststore", dir, "--dir", dir, "--workers", "0"},
		{"--truststore", dir, "--dir", dir, "app.jar"},
		{"--truststore", dir, "--dir", dir},                                                        // no archives
		{"--truststore", dir, "--manifest", filepath.Join(dir, "missing.txt"), "--policy", "nope"}, // bad policy
	} {
		if _, code := runVerifyCommand(t, args...); code != exitUsage {
			t.Errorf("verify %v: exit %d, want %d (usage)", args, code, exitUsage)
		}
	}
}

// BenchmarkVerifyDir measures bulk verification of 10,000 small signed
// archives against a list whose exact entry holds 100,000 signatures:
// go test ./cmd/signerctl -run XXX -bench VerifyDir -benchtime 1x
func BenchmarkVerifyDir(b *testing.B) {
	files := benchFiles()
	f := newBulkFixture(b, files, 100_000)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		out, code := runVerifyCommand(b, "--truststore", f.truststore, "--dir", f.dir, "--output", "json")
		elapsed := time.Since(start)
		if _, sum := parseBulk(b, out); code != exitRevoked || sum.Valid != files/2 || sum.Failed != files/2 {
			b.Fatalf("exit %d, summary %+v", code, sum)
		}
		b.ReportMetric(float64(files)/elapsed.Seconds(), "files/s")
	}
}

func mustTB(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func readPKCS8TB(tb testing.TB, path string) ed25519.PrivateKey {
	tb.Helper()
	k, err := softkms.ReadKeyFile(path)
	mustTB(tb, err)
	return k
}

// benchFiles is BenchmarkVerifyDir's folder size: 10,000, or
// $BULK_BENCH_FILES.
func benchFiles() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("BULK_BENCH_FILES"), &n); err != nil || n < 2 {
		return 10_000
	}
	return n
}

// TestBulkVerifyRefusesOddFiles: nothing under --dir is skipped silently;
// a file that is neither an archive nor a signature file stops the run.
func TestBulkVerifyRefusesOddFiles(t *testing.T) {
	f := newBulkFixture(t, 2, 0)
	must(t, syscall.Mkfifo(filepath.Join(f.dir, "pipe"), 0o644))
	out, code := runVerifyCommand(t, "--truststore", f.truststore, "--dir", f.dir, "--output", "json")
	if code != exitError || out != "" {
		t.Errorf("folder with a FIFO: exit %d, output %q; want exit %d before any result", code, out, exitError)
	}
}

// TestBulkVerifyManifestFields: a manifest line's signature file and app
// key are the ones used (the line's app key over --app-key, --app-key
// for lines without one), a line with only ARCHIVE or an empty SIGNATURE
// field takes ARCHIVE.sig, and one worker verifies in order too.
func TestBulkVerifyManifestFields(t *testing.T) {
	f := newVerifyFixture(t)
	lines := []struct {
		line, cause string // cause "" is valid
	}{
		{"app.jar\tprivate-build.sig", ""},                             // --app-key com.acme.app
		{"app.jar\tprivate-build.sig\tcom.globex.app", "out-of-scope"}, // the line's key wins
		{"app.jar\tmarketplace.sig\tcom.globex.app", ""},               // not scoped to app keys
		{"app.jar\tmarketplace-tampered.sig", "bad-signature"},
		{"app.jar", "malformed"},                 // app.jar.sig: none
		{"app.jar\t\tcom.acme.app", "malformed"}, // likewise
	}
	var m strings.Builder
	for _, l := range lines {
		m.WriteString(l.line + "\n")
	}
	manifest := filepath.Join(filepath.Dir(f.archive), "manifest.txt")
	must(t, os.WriteFile(manifest, []byte(m.String()), 0o644))
	out, code := runVerifyCommand(t, "--truststore", f.truststore, "--manifest", manifest, "--app-key", "com.acme.app", "--workers", "1", "--output", "json")
	results, sum := parseBulk(t, out)
	if len(results) != len(lines) {
		t.Fatalf("%d results for %d lines:\n%s", len(results), len(lines), out)
	}
	for i, l := range lines {
		if r := results[i]; r.Archive != f.archive || r.Cause != l.cause || r.Valid != (l.cause == "") {
			t.Errorf("line %q: %s valid %v cause %q; want %s cause %q", l.line, r.Archive, r.Valid, r.Cause, f.archive, l.cause)
		}
	}
	if code != exitError || sum.Valid != 2 || sum.Failed != 4 || sum.ByCause["malformed"] != 2 {
		t.Errorf("exit %d, summary %+v; want exit %d (mixed failures), 2 valid, 4 failed", code, sum, exitError)
	}
	if sum.PerSec != perSecond(sum.Files, sum.Seconds) || sum.PerSec <= 0 {
		t.Errorf("files per second %v, want %d files / %vs", sum.PerSec, sum.Files, sum.Seconds)
	}

	// Unsigned (no ARCHIVE.sig) is decided as single-file verify decides
	// it: accepted within the grace period.
	must(t, os.WriteFile(manifest, []byte("app.jar\n"), 0o644))
	out, code = runVerifyCommand(t, "--truststore", f.truststore, "--manifest", manifest, "--output", "json",
		"--grace-until", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if _, sum := parseBulk(t, out); code != exitOK || sum.Accepted != 1 {
		t.Errorf("unsigned within the grace period: exit %d, summary %+v; want exit 0, accepted by policy", code, sum)
	}
}

func TestPerSecond(t *testing.T) {
	for _, tt := range []struct {
		n       int
		seconds float64
		want    float64
	}{{10, 2, 5}, {3, 0, 0}, {0, 0, 0}} {
		if got := perSecond(tt.n, tt.seconds); got != tt.want {
			t.Errorf("perSecond(%d, %v) = %v, want %v", tt.n, tt.seconds, got, tt.want)
		}
	}
}

// TestBulkManifestLineNumbers: a malformed manifest line is refused by its
// number, counting comments and blank lines.
func TestBulkManifestLineNumbers(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		manifest string
		line     int
	}{
		{"a.jar\n\tb.sig\n", 2},                    // no archive
		{"# apps\n\na.jar\na.jar\tx\ty\tz\n", 4},   // four fields
		{"a.jar\tb.sig\tkey\n\n\n# x\n\t\tk\n", 5}, // an app key, no archive
		{"a.jar\r\n\r\nb.jar\t\t\t\r\nc.jar\n", 3}, // CRLF
	} {
		p := filepath.Join(dir, "manifest.txt")
		must(t, os.WriteFile(p, []byte(tt.manifest), 0o644))
		_, err := bulkManifestItems(p)
		var le *manifestLineError
		if !errors.As(err, &le) || le.line != tt.line || errExitCode(err) != exitUsage {
			t.Errorf("manifest %q: %v; want a usage error for line %d", tt.manifest, err, tt.line)
		}
	}
}

// TestBulkVerifyStaleList: a stale installed list is used with a warning
// in the summary (--stale warn, the default) or refused before any
// archive is checked (--stale fail), as for one archive.
func TestBulkVerifyStaleList(t *testing.T) {
	f := newRevocationFixture(t)
	f.install(t, f.list(t, 3, true, revocation.Input{}))
	manifest := filepath.Join(f.dir, "manifest.txt")
	must(t, os.WriteFile(manifest, []byte("app.jar\n"), 0o644))
	out, code := runVerifyCommand(t, "--truststore", f.truststore, "--manifest", manifest, "--output", "json")
	if _, sum := parseBulk(t, out); code != exitOK || sum.Valid != 1 || sum.Version != 3 || len(sum.Warnings) != 1 {
		t.Errorf("--stale warn: exit %d, summary %+v; want exit 0, 1 valid against list version 3, one warning", code, sum)
	}
	out, code = runVerifyCommand(t, "--truststore", f.truststore, "--manifest", manifest, "--output", "json", "--stale", "fail")
	if code != exitRevoked || out != "" {
		t.Errorf("--stale fail: exit %d, output %q; want exit %d before any result", code, out, exitRevoked)
	}
}

// TestBulkVerifyText is the one test of bulk verify's text output: each
// archive's line starts with its decision, and the summary line counts
// them, naming the causes of failure only when there are some.
func TestBulkVerifyText(t *testing.T) {
	f := newBulkFixture(t, 2, 0) // app-00000.jar kept by the list, app-00001.jar revoked
	must(t, os.WriteFile(filepath.Join(f.dir, "unsigned.jar"), []byte("no signature"), 0o644))
	out, code := runVerifyCommand(t, "--truststore", f.truststore, "--dir", f.dir, "--policy", "marketplace=warn")
	want := []string{
		"OK " + f.pre[0] + ":",
		"ACCEPTED " + f.post[0] + " ",
		"FAIL " + filepath.Join(f.dir, "unsigned.jar") + ":",
		"3 archive(s): 1 valid, 1 accepted by policy, 1 failed (malformed 1) in ",
	}
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != exitMalformed || len(got) != len(want) {
		t.Fatalf("exit %d, %d lines; want exit %d, %d lines:\n%s", code, len(got), exitMalformed, len(want), out)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("line %d: %q, want it to start %q", i+1, got[i], want[i])
		}
	}
	manifest := filepath.Join(t.TempDir(), "manifest.txt")
	must(t, os.WriteFile(manifest, []byte(f.pre[0]+"\n"), 0o644))
	out, code = runVerifyCommand(t, "--truststore", f.truststore, "--manifest", manifest)
	if got := strings.Split(out, "\n"); code != exitOK || len(got) != 3 || !strings.HasPrefix(got[1], "1 archive(s): 1 valid, 0 accepted by policy, 0 failed in ") {
		t.Errorf("exit %d, output %q; want exit 0, one OK line and a summary naming no causes", code, out)
	}
}

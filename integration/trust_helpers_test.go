package integration

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var ledgerEntryRE = regexp.MustCompile(`ledger entry (\d+)`)

// signEntry signs archive through the dev server and returns the ledger
// entry id the command printed.
func signEntry(t *testing.T, addr, archive, appKey, version string) int64 {
	t.Helper()
	out := mustSignerctl(t, "sign", "--server", addr, "--app-key", appKey, "--version", version, archive)
	m := ledgerEntryRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("sign printed no ledger entry: %s", out)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

// verifyReport is the part of `signerctl verify --output json` the tests read.
type verifyReport struct {
	Valid    bool     `json:"valid"`
	Accepted bool     `json:"accepted"`
	Origin   string   `json:"origin"`
	Cause    string   `json:"cause"`
	ExitCode int      `json:"exit_code"`
	Error    string   `json:"error"`
	Warnings []string `json:"warnings"`
	Revoked  *struct {
		Kind   string `json:"kind"`
		Reason string `json:"reason"`
	} `json:"revoked"`
}

// verifyJSON runs signerctl verify --output json with args and returns the
// exit status and the report.
func verifyJSON(t *testing.T, args ...string) (int, verifyReport) {
	t.Helper()
	r := signerctl(t, append([]string{"verify", "--output", "json"}, args...)...)
	var rep verifyReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("verify %v: exit %d, output is not JSON: %v\nstdout: %s\nstderr: %s", args, r.code, err, r.stdout, r.stderr)
	}
	if rep.ExitCode != r.code {
		t.Errorf("verify %v: JSON exit_code %d, process exit %d", args, rep.ExitCode, r.code)
	}
	return r.code, rep
}

// signatureFileHasCertificate reports whether a signature file carries a certificate.
func signatureFileHasCertificate(t *testing.T, path string) bool {
	t.Helper()
	var f map[string]string
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if _, err := base64.StdEncoding.DecodeString(f["signature"]); err != nil {
		t.Fatal(err)
	}
	_, ok := f["certificate"]
	return ok
}

// copyDir copies the regular files of src into a new writable dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	must(t, os.MkdirAll(dst, 0o755))
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		must(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
}

func wantContains(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("%s: %q does not contain %q", what, got, want)
	}
}

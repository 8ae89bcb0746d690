package integration

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/dbroles"
	"github.com/appsign/signer/internal/pgtest"
)

// freePort returns a loopback port nothing listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	must(t, err)
	return port
}

// TestQuickstart runs deploy/quickstart.sh — the production quickstart of
// docs/operations.md — against a fresh database: roles, CA ceremony, TLS
// certificates, policy, configuration, first start with no hand-made key,
// a signature over mutual TLS verified offline, probes and metrics; then,
// as an attacker on the same host, a plaintext scrape of the TLS operations
// port, scrapes without or with the wrong certificate, plaintext signerctl.
func TestQuickstart(t *testing.T) {
	requirePostgresBinaries(t)
	requireTool(t, "openssl")
	requireTool(t, "curl")
	signer, _ := binaries(t)
	admin := pgtest.URL(t)
	work := filepath.Join(t.TempDir(), "qs")
	signerPort, metricsPort := freePort(t), freePort(t)

	cmd := exec.CommandContext(t.Context(), "bash", "../deploy/quickstart.sh")
	cmd.Env = append(os.Environ(),
		"PATH="+filepath.Dir(signer)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"DATABASE_ADMIN_URL="+admin,
		"SERVICE_DATABASE_URL="+asRole(t, admin, dbroles.DefaultRoles.Service),
		"QS_DIR="+work,
		"SIGNER_PORT="+signerPort,
		"SIGNER_METRICS_PORT="+metricsPort,
		"SIGNER_SERVER=", "SIGNER_TLS_CERT=", "SIGNER_TLS_KEY=",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(work, "serve.log"))
		t.Fatalf("quickstart.sh: %v\n%s\nserve.log:\n%s", err, out, log)
	}
	for _, want := range []string{
		"roles ready",
		"root CA",
		"signer serving on 127.0.0.1:" + signerPort + " (mutual TLS)",
		"OK ",
		`signer_signatures_total{backend="softkms",key="marketplace-signing"} 1`,
		"ledger-checkpoints",
		"this server requires mutual TLS: pass --tls-ca/--tls-cert/--tls-key",
		"refused: plaintext scrape, scrape without or with a non-scraper certificate, plaintext signerctl",
	} {
		if !strings.Contains(string(out)+readFile(t, filepath.Join(work, "serve.log")), want) {
			t.Errorf("quickstart output lacks %q:\n%s", want, out)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^ok$`).FindAllString(string(out), -1)); n != 2 {
		t.Errorf("want /livez and /readyz to answer ok, got %d in:\n%s", n, out)
	}
}

// TestQuickstartDocsMatchScript: every command docs/operations.md's
// quickstart shows is a line of deploy/quickstart.sh, so the page cannot
// show a command the test does not run.
func TestQuickstartDocsMatchScript(t *testing.T) {
	doc := readFile(t, "../docs/operations.md")
	script := readFile(t, "../deploy/quickstart.sh")
	start := strings.Index(doc, "## Production quickstart")
	if start < 0 {
		t.Fatal("docs/operations.md has no '## Production quickstart' section")
	}
	section := doc[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(blocks) < 6 {
		t.Fatalf("the quickstart shows %d command blocks, want one per step", len(blocks))
	}
	scriptLines := map[string]bool{}
	for _, l := range strings.Split(script, "\n") {
		scriptLines[strings.TrimSpace(l)] = true
	}
	for _, b := range blocks {
		for _, l := range strings.Split(b[1], "\n") {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			if !scriptLines[l] {
				t.Errorf("docs/operations.md quickstart shows a line deploy/quickstart.sh does not run:\n  %s", l)
			}
		}
	}
}

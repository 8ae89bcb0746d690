package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/pgtest"
)

// TestBadInputThroughCLI: bad requests get an exit status and a message a
// person can act on, and leave no ledger entry behind.
func TestBadInputThroughCLI(t *testing.T) {
	srv := startDev(t, "--database-url", pgtest.URL(t), "--max-archive-size", "65536")
	dir := t.TempDir()
	small := writeArchive(t, dir, "ok.jar", 1024, 1)
	empty := writeArchive(t, dir, "empty.jar", 0, 1)
	big := writeArchive(t, dir, "big.jar", 65537, 2)

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantMsg  string
	}{
		{"empty archive", []string{"--app-key", "com.example.bad", "--version", "1.0.0", empty}, 1, "archive is empty"},
		{"oversize archive", []string{"--app-key", "com.example.bad", "--version", "1.0.1", big}, 1, "maximum size of 65536"},
		{"bad app key", []string{"--app-key", "not a key", "--version", "1.0.0", small}, 1, "reverse-DNS"},
		{"bad version", []string{"--app-key", "com.example.bad", "--version", "v1", small}, 1, "must start with a digit"},
		{"unknown track", []string{"--app-key", "com.example.bad", "--version", "1.0.0", "--track", "beta", small}, 2, "--track"},
		{"missing archive", []string{"--app-key", "com.example.bad", "--version", "1.0.0", filepath.Join(dir, "nope.jar")}, 1, "open archive"},
		{"no app key", []string{"--version", "1.0.0", small}, 2, "--app-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signerctl(t, append([]string{"sign", "--server", srv.Addr}, tt.args...)...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantMsg) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q", r.code, r.stderr, tt.wantCode, tt.wantMsg)
			}
		})
	}
	if out := mustSignerctl(t, "ledger", "list", "--server", srv.Addr, "--output", "json"); strings.TrimSpace(out) != "" {
		t.Fatalf("rejected requests left ledger entries:\n%s", out)
	}
}

// TestIdempotentRetry: the same idempotency key and archive give the same
// entry and signature; another archive under that key is refused.
func TestIdempotentRetry(t *testing.T) {
	srv := startDev(t, "--database-url", pgtest.URL(t))
	dir := t.TempDir()
	a := writeArchive(t, dir, "a.jar", 2048, 1)
	b := writeArchive(t, dir, "b.jar", 2048, 2)
	args := func(archive, out string) []string {
		return []string{"sign", "--server", srv.Addr, "--app-key", "com.example.idem", "--version", "2.0.0", "--idempotency-key", "retry-key-1", "--out", out, archive}
	}
	first := mustSignerctl(t, args(a, filepath.Join(dir, "1.sig"))...)
	second := mustSignerctl(t, args(a, filepath.Join(dir, "2.sig"))...)
	if !strings.Contains(second, "already signed") {
		t.Fatalf("retry was not reported as a replay: %q", second)
	}
	if entryOf(first) != entryOf(second) {
		t.Fatalf("retry got entry %q, first call %q", entryOf(second), entryOf(first))
	}
	if s1, s2 := readFile(t, filepath.Join(dir, "1.sig")), readFile(t, filepath.Join(dir, "2.sig")); s1 != s2 {
		t.Fatal("retry returned a different signature file")
	}
	r := signerctl(t, args(b, filepath.Join(dir, "3.sig"))...)
	if r.code == 0 || !strings.Contains(r.stderr, "AlreadyExists") {
		t.Fatalf("other archive under a used key: exit %d, %q; want AlreadyExists", r.code, r.stderr)
	}
	list := mustSignerctl(t, "ledger", "list", "--server", srv.Addr, "--app-key", "com.example.idem", "--output", "json")
	if n := strings.Count(list, "\n"); n != 1 {
		t.Fatalf("ledger has %d entries for the idempotency key, want 1:\n%s", n, list)
	}
}

func entryOf(out string) string {
	var id int
	if i := strings.Index(out, "ledger entry "); i >= 0 {
		fmt.Sscanf(out[i:], "ledger entry %d", &id)
	}
	return fmt.Sprint(id)
}

var readAll = os.ReadFile

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := readAll(p)
	must(t, err)
	return string(b)
}

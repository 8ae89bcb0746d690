package integration

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/pgtest"
)

// TestBackfillSignsAndResumes signs a folder of app versions (small ones
// through SignBatch, a large one streamed), then removes two signature
// files, as an interrupted run would leave them, and runs again: the rerun
// skips what is done and gets the recorded entries back for the rest, so
// the ledger keeps one entry per version.
func TestBackfillSignsAndResumes(t *testing.T) {
	url := pgtest.URL(t)
	srv := startDev(t, "--database-url", url)
	dir := t.TempDir()
	versions := map[string]int64{
		"com.example.alpha/1.0.0":       2 << 10,
		"com.example.alpha/1.1.0":       3 << 10,
		"com.example.beta/2.0.0-rc.1":   64 << 10,
		"com.example.gamma/0.9.0":       1 << 10,
		"com.example.large/3.0.0":       3 << 20, // over the batch item limit: streamed
		"com.example.gamma/0.9.1+b.7":   5 << 10,
		"com.example.beta/2.0.0":        700 << 10,
		"com.example.delta/1.0.0-alpha": 10,
	}
	var archives []string
	seed := uint64(1)
	for v, size := range versions {
		d := filepath.Join(dir, filepath.FromSlash(v))
		must(t, os.MkdirAll(d, 0o755))
		archives = append(archives, writeArchive(t, d, "app.jar", size, seed))
		seed++
	}

	out := mustSignerctl(t, "backfill", "--server", srv.Addr, "--progress=false", dir)
	if !strings.Contains(out, "signed 8, already recorded (replayed) 0, skipped 0, failed 0") {
		t.Fatalf("first run:\n%s", out)
	}
	for _, a := range archives {
		checkSigFile(t, a)
	}

	must(t, os.Remove(archives[0]+".sig"))
	must(t, os.Remove(archives[4]+".sig"))
	out = mustSignerctl(t, "backfill", "--server", srv.Addr, "--progress=false", dir)
	if !strings.Contains(out, "signed 0, already recorded (replayed) 2, skipped 6, failed 0") {
		t.Fatalf("resumed run:\n%s", out)
	}
	for _, a := range archives {
		checkSigFile(t, a)
	}
	if n := countRows(t, url); n != len(versions) {
		t.Fatalf("ledger has %d entries, want one per version (%d)", n, len(versions))
	}
}

// TestBackfillRefusesBadLayout checks that a folder off the layout is
// refused before anything is signed, with every problem named.
func TestBackfillRefusesBadLayout(t *testing.T) {
	srv := startDev(t, "--database-url", pgtest.URL(t))
	cases := []struct {
		name  string
		files []string
		want  string
	}{
		{"two archives in one version", []string{"com.example.a/1.0.0/a.jar", "com.example.a/1.0.0/b.jar"}, "2 archives, want exactly 1"},
		{"archive outside a version directory", []string{"com.example.a/a.jar"}, "not a version directory"},
		{"empty version directory", []string{"com.example.a/1.0.0/"}, "0 archives, want exactly 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				p := filepath.Join(dir, filepath.FromSlash(f))
				if strings.HasSuffix(f, "/") {
					must(t, os.MkdirAll(p, 0o755))
					continue
				}
				must(t, os.MkdirAll(filepath.Dir(p), 0o755))
				must(t, os.WriteFile(p, []byte("PK"), 0o644))
			}
			r := signerctl(t, "backfill", "--server", srv.Addr, "--progress=false", dir)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit 2 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
}

// checkSigFile verifies archive's .sig as the verifier would: pure
// Ed25519 over every byte, under the certificate in the file.
func checkSigFile(t *testing.T, archive string) {
	t.Helper()
	var f upmFile
	must(t, json.Unmarshal([]byte(readFile(t, archive+".sig")), &f))
	sig, err := base64.StdEncoding.DecodeString(f.Signature)
	must(t, err)
	pemBytes, err := base64.StdEncoding.DecodeString(f.Certificate)
	must(t, err)
	cert, err := chain.ParseCertificatePEM(pemBytes)
	must(t, err)
	content, err := os.ReadFile(archive)
	must(t, err)
	if !ed25519.Verify(cert.PublicKey.(ed25519.PublicKey), content, sig) {
		t.Fatalf("%s: signature does not verify", archive)
	}
}

func countRows(t *testing.T, url string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	must(t, err)
	defer conn.Close(t.Context())
	var n int
	must(t, conn.QueryRow(t.Context(), `SELECT count(*) FROM signatures`).Scan(&n))
	return n
}

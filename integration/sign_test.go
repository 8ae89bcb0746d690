package integration

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/pgtest"
)

// writeArchive writes size pseudo-random bytes (seeded: reproducible) to dir/name.
func writeArchive(t testing.TB, dir, name string, size int64, seed uint64) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		rng.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
		left -= n
	}
	return path
}

// upmFile is the signature file as the ecosystem's verifier reads it.
type upmFile struct {
	Signature   string `json:"signature"`
	Certificate string `json:"certificate"`
}

// opensslCheck runs the verifier vendor's own troubleshooting procedure
// (BRIEF.md) and `openssl verify` of the certificate against the trust
// store. It returns an error describing the first failing step.
func opensslCheck(t testing.TB, sigPath, archive, truststore string) error {
	t.Helper()
	openssl := requireTool(t, "openssl")
	work := t.TempDir()
	raw, err := os.ReadFile(sigPath)
	if err != nil {
		t.Fatal(err)
	}
	var f upmFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("signature file is not JSON: %v", err)
	}
	sig, err := base64.StdEncoding.DecodeString(f.Signature)
	if err != nil {
		t.Fatalf("signature is not base64: %v", err)
	}
	cert, err := base64.StdEncoding.DecodeString(f.Certificate)
	if err != nil {
		t.Fatalf("certificate is not base64: %v", err)
	}
	sigBin, certCrt, pubPem := filepath.Join(work, "signature.bin"), filepath.Join(work, "certificate.crt"), filepath.Join(work, "public_key.pem")
	must(t, os.WriteFile(sigBin, sig, 0o644))
	must(t, os.WriteFile(certCrt, cert, 0o644))
	r := run(t, openssl, "x509", "-in", certCrt, "-noout", "-pubkey")
	if r.code != 0 {
		return fmt.Errorf("openssl x509 -pubkey: %s", r.stderr)
	}
	must(t, os.WriteFile(pubPem, []byte(r.stdout), 0o644))
	if r := run(t, openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pubPem, "-rawin", "-in", archive, "-sigfile", sigBin); r.code != 0 {
		return fmt.Errorf("openssl pkeyutl -verify: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	roots, _ := filepath.Glob(filepath.Join(truststore, "root-*.pem"))
	inters, _ := filepath.Glob(filepath.Join(truststore, "intermediate-*.pem"))
	if len(roots) == 0 || len(inters) == 0 {
		t.Fatalf("trust store %s lacks root or intermediate files", truststore)
	}
	bundle := filepath.Join(work, "intermediates.pem")
	var all []byte
	for _, p := range inters {
		b, err := os.ReadFile(p)
		must(t, err)
		all = append(all, b...)
	}
	must(t, os.WriteFile(bundle, all, 0o644))
	if r := run(t, openssl, "verify", "-CAfile", roots[0], "-untrusted", bundle, certCrt); r.code != 0 {
		return fmt.Errorf("openssl verify: %s%s", r.stdout, r.stderr)
	}
	return nil
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSignVerifyEndToEnd signs archives of several sizes through the real
// binaries and checks each signature with signerctl and with OpenSSL, and
// that a tampered archive fails both.
func TestSignVerifyEndToEnd(t *testing.T) {
	requireTool(t, "openssl")
	srv := startDev(t, "--database-url", pgtest.URL(t))
	work := t.TempDir()
	truststore := filepath.Join(work, "truststore")
	mustSignerctl(t, "bundle", "get", "--server", srv.Addr, "--out", truststore)

	sizes := []struct {
		name string
		size int64
	}{
		{"1KB", 1 << 10},
		{"5MB", 5 << 20},
		{"300MB", 300 << 20},
	}
	for i, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && tc.size > 64<<20 {
				t.Skip("large archive skipped in -short mode")
			}
			dir := t.TempDir()
			archive := writeArchive(t, dir, "app.jar", tc.size, uint64(i+1))
			version := fmt.Sprintf("1.%d.0", i)
			out := mustSignerctl(t, "sign", "--server", srv.Addr, "--app-key", "com.example.e2e", "--version", version, archive)
			if !strings.Contains(out, "ledger entry") {
				t.Fatalf("sign output lacks the ledger entry: %q", out)
			}
			sigPath := archive + ".sig"
			mustSignerctl(t, "verify", "--truststore", truststore, "--signature", sigPath, archive)
			if err := opensslCheck(t, sigPath, archive, truststore); err != nil {
				t.Fatalf("OpenSSL rejects our signature: %v", err)
			}

			// The ledger holds the entry that the signature came from.
			list := mustSignerctl(t, "ledger", "list", "--server", srv.Addr, "--app-key", "com.example.e2e", "--version", version, "--output", "json")
			if n := strings.Count(strings.TrimSpace(list), "\n") + 1; strings.TrimSpace(list) == "" || n != 1 {
				t.Fatalf("ledger has %q for %s, want exactly one entry", list, version)
			}

			// Flip one byte in the middle: every checker must now refuse.
			tampered := filepath.Join(dir, "tampered.jar")
			b, err := os.ReadFile(archive)
			must(t, err)
			b[len(b)/2] ^= 0x01
			must(t, os.WriteFile(tampered, b, 0o644))
			b = nil
			if r := signerctl(t, "verify", "--truststore", truststore, "--signature", sigPath, tampered); r.code != 3 {
				t.Fatalf("signerctl verify of a tampered archive: exit %d (want 3)\n%s%s", r.code, r.stdout, r.stderr)
			}
			if err := opensslCheck(t, sigPath, tampered, truststore); err == nil || !strings.Contains(err.Error(), "pkeyutl") {
				t.Fatalf("OpenSSL accepted a tampered archive (err=%v)", err)
			}
		})
	}
}

// TestDigestProfileEndToEnd: `signerctl sign --profile digest-v1` sends only
// the digests; `signerctl verify` checks the statement against the archive.
func TestDigestProfileEndToEnd(t *testing.T) {
	srv := startDev(t, "--database-url", pgtest.URL(t))
	dir := t.TempDir()
	truststore := filepath.Join(dir, "truststore")
	mustSignerctl(t, "bundle", "get", "--server", srv.Addr, "--out", truststore)
	archive := writeArchive(t, dir, "app.jar", 3<<20, 11)
	out := mustSignerctl(t, "sign", "--server", srv.Addr, "--profile", "digest-v1", "--app-key", "com.example.digest", "--version", "4.0.0", archive)
	if !strings.Contains(out, "(digest-v1)") {
		t.Fatalf("sign output: %q", out)
	}
	res := mustSignerctl(t, "verify", "--truststore", truststore, archive)
	if !strings.Contains(res, "digest-v1 signature") || !strings.Contains(res, "com.example.digest 4.0.0") {
		t.Fatalf("verify output: %q", res)
	}
	other := writeArchive(t, dir, "other.jar", 3<<20, 12)
	if r := signerctl(t, "verify", "--truststore", truststore, "--signature", archive+".sig", other); r.code != 3 || !strings.Contains(r.stderr, "does not match") {
		t.Fatalf("verify of another archive: exit %d, %q; want 3", r.code, r.stderr)
	}
}

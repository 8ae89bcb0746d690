package bundle_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/bundle"
)

// TestSumsToolsCheckBundle runs the checks an air-gapped operator runs
// before anything else: coreutils must accept the sums files, and notice
// a damaged file.
func TestSumsToolsCheckBundle(t *testing.T) {
	f := newFixture(t, testNow)
	b := f.bundle(1)
	b.RevocationList = f.revocationList(t, 1, testNow)
	b.CRLs = [][]byte{f.crl(t, 1, testNow)}
	dir := f.export(t, b, testNow)
	damaged := copyDir(t, dir)
	p := filepath.Join(damaged, fileName("root", f.root))
	overwrite(t, p, append(readFile(t, p), '\n'))

	for _, tool := range []struct{ name, sums string }{{"sha256sum", bundle.SHA256SumsFile}, {"sha512sum", bundle.SHA512SumsFile}} {
		path := requireTool(t, tool.name)
		t.Run(tool.name, func(t *testing.T) {
			cmd := exec.Command(path, "--strict", "-c", tool.sums)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s -c %s: %v\n%s", tool.name, tool.sums, err, out)
			}
			// Every file but the sums files themselves is checked.
			if n := strings.Count(string(out), ": OK"); n != 7 {
				t.Errorf("%s checked %d files, want 7:\n%s", tool.name, n, out)
			}
			cmd = exec.Command(path, "--strict", "-c", tool.sums)
			cmd.Dir = damaged
			out, err = cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), fileName("root", f.root)+": FAILED") {
				t.Errorf("%s accepted a damaged bundle: %v\n%s", tool.name, err, out)
			}
		})
	}
}

// TestOpenSSLVerifiesManifest checks the manifest signature the way the
// trust documentation tells operators without signerctl to.
func TestOpenSSLVerifiesManifest(t *testing.T) {
	openssl := requireTool(t, "openssl")
	f := newFixture(t, testNow)
	dir := f.export(t, f.bundle(1), testNow)
	work := t.TempDir()
	pub := filepath.Join(work, "signer.pub")

	out, err := exec.Command(openssl, "x509", "-in", filepath.Join(dir, bundle.SignerFile), "-noout", "-pubkey", "-out", pub).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl x509 -pubkey: %v\n%s", err, out)
	}
	verify := func(manifest string) (string, error) {
		out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin",
			"-in", manifest, "-sigfile", filepath.Join(dir, bundle.SignatureFile)).CombinedOutput()
		return string(out), err
	}
	if out, err := verify(filepath.Join(dir, bundle.ManifestFile)); err != nil || !strings.Contains(out, "Signature Verified Successfully") {
		t.Errorf("openssl pkeyutl -verify: %v\n%s", err, out)
	}
	changed := filepath.Join(work, "manifest.json")
	if err := os.WriteFile(changed, append(readFile(t, filepath.Join(dir, bundle.ManifestFile)), ' '), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(changed); err == nil {
		t.Errorf("openssl verified a changed manifest:\n%s", out)
	}

	rootPEM := filepath.Join(work, "root.pem")
	writePEM(t, work, "root.pem", f.root)
	out, err = exec.Command(openssl, "verify", "-attime", strconv.FormatInt(testNow.Unix(), 10), "-CAfile", rootPEM, filepath.Join(dir, bundle.SignerFile)).CombinedOutput()
	if err != nil {
		t.Errorf("openssl verify of the manifest signer against the root: %v\n%s", err, out)
	}
}

package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var fingerprintRE = regexp.MustCompile(`SHA-256 fingerprint ([0-9A-F:]{95})`)

// TestTrustBundleLifecycle exports signed bundles from the dev signer
// (with a revocation list and a CRL), verifies one offline, installs it
// into a fresh trust store with the root fingerprint obtained out of band,
// upgrades it, refuses a downgrade and a tampered bundle, and checks the
// CRL and chain with OpenSSL.
func TestTrustBundleLifecycle(t *testing.T) {
	requirePostgresBinaries(t)
	openssl := requireTool(t, "openssl")
	srv := startDev(t)
	work := t.TempDir()
	key := filepath.Join(srv.DataDir, "keys", "bundle-signer.key")
	signerCert := filepath.Join(srv.DataDir, "pki", "bundle-signer.crt")

	revList := filepath.Join(work, "revocation.json")
	mustSignerctl(t, "revoke", "publish", "--server", srv.Addr, "--next-update", "168h", "--out", revList)
	crl := filepath.Join(work, "marketplace.crl")
	mustSignerctl(t, "revoke", "crl", "--server", srv.Addr, "--ca", "marketplace", "--out", crl)

	export := func(version, out string, extra ...string) string {
		args := append([]string{"bundle", "export", "--server", srv.Addr, "--key", key, "--signer-cert", signerCert, "--version", version, "--out", out}, extra...)
		return mustSignerctl(t, args...)
	}
	b1, b2 := filepath.Join(work, "trust-bundle-v1"), filepath.Join(work, "trust-bundle-v2")
	printed := export("1", b1)
	export("2", b2, "--revocation-list", revList, "--crl", crl)
	m := fingerprintRE.FindStringSubmatch(printed)
	if m == nil {
		t.Fatalf("export printed no root fingerprint:\n%s", printed)
	}
	fp := m[1]

	// The published sums check with coreutils, on the air-gapped machine.
	for _, sums := range []string{"SHA256SUMS", "SHA512SUMS"} {
		tool := map[string]string{"SHA256SUMS": "sha256sum", "SHA512SUMS": "sha512sum"}[sums]
		r := runIn(t, b2, tool, "--strict", "-c", sums)
		if r.code != 0 {
			t.Fatalf("%s -c %s: %s%s", tool, sums, r.stdout, r.stderr)
		}
	}

	out := mustSignerctl(t, "bundle", "verify", "--bootstrap-fingerprint", fp, b2)
	wantContains(t, "bundle verify", out, "OK bundle version 2")

	tampered := filepath.Join(work, "tampered")
	copyDir(t, b2, tampered)
	must(t, os.WriteFile(filepath.Join(tampered, ".DS_Store"), []byte("x"), 0o644))
	if r := signerctl(t, "bundle", "verify", "--bootstrap-fingerprint", fp, tampered); r.code != 6 {
		t.Errorf("bundle with an extra file: exit %d, want 6\n%s", r.code, r.stderr)
	}
	if r := signerctl(t, "bundle", "verify", "--bootstrap-fingerprint", "00"+fp[2:], b2); r.code != 4 {
		t.Errorf("wrong bootstrap fingerprint: exit %d, want 4\n%s", r.code, r.stderr)
	}

	store := filepath.Join(work, "fresh", "truststore")
	mustSignerctl(t, "bundle", "install", "--truststore", store, "--bootstrap-fingerprint", fp, b1)
	diff := mustSignerctl(t, "bundle", "diff", "--truststore", store, b2)
	wantContains(t, "diff", diff, "+ .revocation/revocation.json")
	mustSignerctl(t, "bundle", "install", "--truststore", store, b2)
	if fi, err := os.Stat(store); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("trust store folder mode %v, %v; want 0555", fi.Mode().Perm(), err)
	}
	pems, _ := filepath.Glob(filepath.Join(store, "*.pem"))
	if len(pems) != 3 {
		t.Errorf("trust store holds %d PEM files, want root + marketplace + private-build CA", len(pems))
	}
	for _, p := range pems {
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o444 {
			t.Errorf("%s mode %v, want 0444", p, fi.Mode().Perm())
		}
	}
	r := signerctl(t, "bundle", "install", "--truststore", store, b1)
	if r.code == 0 {
		t.Fatal("installing bundle version 1 over version 2 succeeded; want a refused downgrade")
	}
	wantContains(t, "downgrade refusal", r.stderr, "downgrade")

	// The installed store verifies marketplace signatures, with the revocation list in force.
	app := writeArchive(t, work, "app.jar", 64<<10, 9)
	signEntry(t, srv.Addr, app, "com.example.bundled", "1.0.0")
	if code, rep := verifyJSON(t, "--truststore", store, app); code != 0 {
		t.Errorf("verify against the installed store: exit %d, %+v", code, rep)
	}

	// OpenSSL accepts the CRL and checks a signing certificate against it.
	var interPEM string
	for _, p := range pems {
		if filepath.Base(p)[:13] == "intermediate-" && run(t, openssl, "crl", "-inform", "DER", "-in", crl, "-CAfile", p, "-noout").code == 0 {
			interPEM = p
		}
	}
	if interPEM == "" {
		t.Fatal("openssl crl -verify accepted the marketplace CRL under no intermediate of the store")
	}
	rootPEM, _ := filepath.Glob(filepath.Join(store, "root-*.pem"))
	crlPEM := filepath.Join(work, "marketplace.crl.pem")
	if r := run(t, openssl, "crl", "-inform", "DER", "-in", crl, "-out", crlPEM); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := run(t, openssl, "verify", "-crl_check", "-CAfile", rootPEM[0], "-untrusted", interPEM, "-CRLfile", crlPEM,
		filepath.Join(srv.DataDir, "pki", "signing.crt")); r.code != 0 {
		t.Errorf("openssl verify -crl_check: %s%s", r.stdout, r.stderr)
	}
}

// runIn runs a command in dir.
func runIn(t *testing.T, dir, name string, args ...string) result {
	t.Helper()
	old, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.Chdir(dir))
	defer os.Chdir(old)
	return run(t, name, args...)
}

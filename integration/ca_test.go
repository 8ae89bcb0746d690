package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/kms/pkcs11kms/softhsmtest"
	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/transport/transporttest"
)

// caCeremony is the production CA ceremony run with the real signerctl:
// the root key in a SoftHSM2 token, every other key in software.
type caCeremony struct {
	dir, config string
	backends    string // the backends section, for the service's file too
	secrets     []string
	outputs     []string // everything the ceremony printed
	keys        map[string]string
}

func (c *caCeremony) file(name string) string { return filepath.Join(c.dir, name) }

// ctl runs signerctl ca … and fails the test unless it exits 0.
func (c *caCeremony) ctl(t *testing.T, args ...string) string {
	t.Helper()
	r := signerctl(t, append([]string{"ca"}, args...)...)
	c.outputs = append(c.outputs, r.stdout, r.stderr)
	if r.code != 0 {
		t.Fatalf("signerctl ca %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func (c *caCeremony) keygen(t *testing.T, backend, name string) {
	t.Helper()
	var created struct {
		URI string `json:"uri"`
	}
	out := c.ctl(t, "keygen", "--config", c.config, "--backend", backend, "--name", name, "--purpose", name, "--output", "json")
	must(t, json.Unmarshal([]byte(out), &created))
	c.keys[name] = created.URI
}

// runCACeremony creates the keys and issues root, both intermediates, a
// pre-positioned next marketplace intermediate and both trust-metadata
// signers, under c.dir.
func runCACeremony(t *testing.T) *caCeremony {
	t.Helper()
	tok := softhsmtest.New(t)
	c := &caCeremony{dir: t.TempDir(), keys: map[string]string{}, secrets: []string{tok.UserPIN, tok.SOPIN}}
	must(t, os.Chmod(c.dir, 0o700))
	c.backends = fmt.Sprintf("backends:\n  softkms: {dir: %s}\n  pkcs11: {module: %s, token: %s, pin_file: %s}\n",
		c.file("keys"), tok.Options.ModulePath, tok.Label, tok.Options.PINFile)
	c.config = c.file("ceremony.yaml")
	must(t, os.WriteFile(c.config, []byte(c.backends), 0o600))

	c.keygen(t, "pkcs11", "root-ca")
	for _, name := range []string{"marketplace-ca", "marketplace-ca-next", "private-build-ca", "bundle-signer", "revocation-signer"} {
		c.keygen(t, "softkms", name)
	}
	for _, name := range []string{"marketplace-ca", "private-build-ca", "bundle-signer", "revocation-signer"} {
		c.secrets = append(c.secrets, keyFileSecrets(t, c.file("keys/"+name+".key"))...)
	}

	out := c.ctl(t, "root", "--config", c.config, "--key", c.keys["root-ca"], "--cn", "appsign test root CA", "--out", c.file("root.crt"))
	wantContains(t, "ca root", out, "root CA")
	parent := []string{"--config", c.config, "--parent-cert", c.file("root.crt"), "--parent-key", c.keys["root-ca"]}
	issue := func(args ...string) { c.ctl(t, append(append([]string{args[0]}, parent...), args[1:]...)...) }
	issue("intermediate", "--key", c.keys["marketplace-ca"], "--origin", "marketplace", "--cn", "appsign marketplace CA", "--out", c.file("marketplace.crt"))
	issue("intermediate", "--key", c.keys["private-build-ca"], "--origin", "private-build", "--cn", "appsign private-build CA", "--out", c.file("private-build.crt"))
	issue("intermediate", "--key", c.keys["marketplace-ca-next"], "--origin", "marketplace", "--cn", "appsign marketplace CA 2",
		"--not-before", time.Now().Add(30*24*time.Hour).UTC().Format(time.RFC3339), "--out", c.file("marketplace-next.crt"))
	issue("signer", "--key", c.keys["bundle-signer"], "--role", "bundle", "--cn", "appsign bundle signer", "--out", c.file("bundle-signer.crt"))
	issue("signer", "--key", c.keys["revocation-signer"], "--role", "revocation", "--cn", "appsign revocation signer", "--out", c.file("revocation-signer.crt"))
	return c
}

// TestCACeremony runs the ceremony, checks its certificates with OpenSSL,
// starts `signer serve` on them and signs, verifies, publishes a
// revocation list and a root CRL (signed in the HSM) and exports a trust
// bundle with the new bundle signer.
func TestCACeremony(t *testing.T) {
	requirePostgresBinaries(t)
	openssl := requireTool(t, "openssl")
	c := runCACeremony(t)
	root := c.file("root.crt")

	// A second implementation accepts every certificate under the root.
	for _, name := range []string{"marketplace.crt", "private-build.crt", "bundle-signer.crt", "revocation-signer.crt"} {
		if r := run(t, openssl, "verify", "-CAfile", root, c.file(name)); r.code != 0 || !strings.Contains(r.stdout, ": OK") {
			t.Errorf("openssl verify %s: exit %d %s%s", name, r.code, r.stdout, r.stderr)
		}
	}
	// The next intermediate is not valid yet, and is once its time comes.
	next := c.file("marketplace-next.crt")
	if r := run(t, openssl, "verify", "-CAfile", root, next); r.code == 0 {
		t.Errorf("openssl accepted the pre-positioned intermediate before its not-before: %s", r.stdout)
	}
	later := fmt.Sprint(time.Now().Add(31 * 24 * time.Hour).Unix())
	if r := run(t, openssl, "verify", "-attime", later, "-CAfile", root, next); r.code != 0 {
		t.Errorf("openssl verify -attime (after not-before): %s%s", r.stdout, r.stderr)
	}
	// The fingerprint the root command printed is OpenSSL's.
	r := run(t, openssl, "x509", "-in", root, "-noout", "-fingerprint", "-sha256")
	_, fp, _ := strings.Cut(strings.TrimSpace(r.stdout), "=")
	if r.code != 0 || len(fp) != 95 || !strings.Contains(strings.Join(c.outputs, ""), fp) {
		t.Errorf("root fingerprint %q (openssl exit %d) not printed by signerctl ca root", fp, r.code)
	}
	show := c.ctl(t, "show", root, c.file("marketplace.crt"), c.file("private-build.crt"), next, c.file("bundle-signer.crt"), c.file("revocation-signer.crt"))
	for _, want := range []string{"root CA", "private-build intermediate CA", "trust-bundle signer", "revocation-list signer", "path length 1", "path length 0"} {
		wantContains(t, "ca show", show, want)
	}

	// The service starts on the ceremony's files: the root key in the HSM.
	e := startServeWith(t, c)
	work := t.TempDir()
	archive := writeArchive(t, work, "app.jar", 64<<10, 41)
	if r := e.as(t, "pipeline", "sign", "--server", e.srv.Addr, "--app-key", "com.example.ceremony", "--version", "1.0.0", archive); r.code != 0 {
		t.Fatalf("sign: exit %d %s", r.code, r.stderr)
	}
	store := filepath.Join(work, "truststore")
	if r := e.as(t, "pipeline", "bundle", "get", "--server", e.srv.Addr, "--out", store); r.code != 0 {
		t.Fatalf("bundle get: exit %d %s", r.code, r.stderr)
	}
	if code, rep := verifyJSON(t, "--truststore", store, archive); code != 0 || rep.Origin != "marketplace" {
		t.Errorf("verify a signature under the ceremony's hierarchy: exit %d %+v", code, rep)
	}
	revList := filepath.Join(work, "revocation.json")
	if r := e.as(t, "security-admin", "revoke", "publish", "--server", e.srv.Addr, "--out", revList); r.code != 0 {
		t.Fatalf("revoke publish: exit %d %s", r.code, r.stderr)
	}
	mustSignerctl(t, "revoke", "show", "--truststore", store, revList)
	rootCRL := filepath.Join(work, "root.crl")
	if r := e.as(t, "security-admin", "revoke", "crl", "--server", e.srv.Addr, "--ca", "root", "--out", rootCRL); r.code != 0 {
		t.Fatalf("revoke crl --ca root: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, openssl, "crl", "-inform", "DER", "-in", rootCRL, "-CAfile", root, "-noout"); r.code != 0 {
		t.Errorf("openssl rejects the root CRL signed in the HSM: %s%s", r.stdout, r.stderr)
	}

	// The bundle signer publishes a bundle customers can bootstrap from.
	b := filepath.Join(work, "trust-bundle-v1")
	mustSignerctl(t, "bundle", "export", "--key", c.keys["bundle-signer"], "--signer-cert", c.file("bundle-signer.crt"), "--version", "1",
		"--roots", root, "--intermediates", c.file("marketplace.crt"), "--intermediates", c.file("private-build.crt"), "--intermediates", next,
		"--revocation-list", revList, "--out", b)
	wantContains(t, "bundle verify", mustSignerctl(t, "bundle", "verify", "--bootstrap-fingerprint", fp, b), "OK bundle version 1")

	for _, secret := range c.secrets {
		if strings.Contains(strings.Join(c.outputs, "\n")+e.srv.stderr.String(), secret) {
			t.Errorf("a secret (%d bytes) appears in signerctl ca or signer output", len(secret))
		}
	}
}

// startServeWith runs `signer serve` with the ceremony's certificates and
// keys: issuing CA, trust roots and intermediates, revocation signer, CRL keys.
func startServeWith(t *testing.T, c *caCeremony) *prodEnv {
	t.Helper()
	e := &prodEnv{dir: t.TempDir(), certs: map[string][2]string{}, trustRT: c.file("root.crt")}
	e.tlsCA = transporttest.NewCA(t, "signer clients")
	e.caFile = e.tlsCA.WriteCA(t, e.dir, "tls-ca.crt")
	srvCert, srvKey := transporttest.WritePair(t, e.dir, "server", e.tlsCA.Server(t))
	for _, role := range []string{"pipeline", "security-admin"} {
		cert, key := transporttest.WritePair(t, e.dir, role, e.tlsCA.Client(t, callerIDs[role]))
		e.certs[role] = [2]string{cert, key}
	}
	policyFile := filepath.Join(e.dir, "policy.yaml")
	must(t, os.WriteFile(policyFile, []byte(testPolicy), 0o644))
	key := func(name, cert string) string {
		return fmt.Sprintf("{uri: %q, certificate: %s}", c.keys[name], c.file(cert))
	}
	cfg := c.backends + fmt.Sprintf(`listen: 127.0.0.1:0
tls: {cert_file: %s, key_file: %s, client_ca_file: %s}
spool_dir: %s
keys: {archive_signing: marketplace-signing, archive_signing_backend: softkms, ca: %s}
trust:
  roots: [%s]
  intermediates: [%s, %s]
  revocation:
    issuer: ceremony test
    list_signer: %s
    cas:
      - {name: root, uri: %q, certificate: %s}
      - {name: marketplace, uri: %q, certificate: %s}
auth: {policy_file: %s}
database: {dev_setup: true} # the test cluster's superuser
`, srvCert, srvKey, e.caFile, e.dir, key("marketplace-ca", "marketplace.crt"), e.trustRT, c.file("marketplace.crt"), c.file("private-build.crt"),
		key("revocation-signer", "revocation-signer.crt"), c.keys["root-ca"], e.trustRT, c.keys["marketplace-ca"], c.file("marketplace.crt"), policyFile)
	cfgFile := filepath.Join(e.dir, "signer.yaml")
	must(t, os.WriteFile(cfgFile, []byte(cfg), 0o600))

	dbURL := pgtest.URL(t)
	signer, _ := binaries(t)
	if r := runEnv(t, []string{"DATABASE_URL=" + dbURL}, signer, "migrate"); r.code != 0 {
		t.Fatalf("signer migrate: %d %s", r.code, r.stderr)
	}
	e.srv = startSigner(t, []string{"DATABASE_URL=" + dbURL}, e.dir, "serve", "--config", cfgFile)
	var err error
	e.policy, err = auth.LoadPolicy(policyFile)
	must(t, err)
	return e
}

// TestCARefusals: the ceremony refuses what would produce a certificate
// that never verifies or would replace one, and writes nothing then.
func TestCARefusals(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "ceremony.yaml")
	must(t, os.WriteFile(config, []byte("backends:\n  softkms: {dir: "+filepath.Join(dir, "keys")+"}\n"), 0o600))
	uri := map[string]string{}
	for _, name := range []string{"root", "other", "inter"} {
		out := mustSignerctl(t, "ca", "keygen", "--config", config, "--backend", "softkms", "--name", name)
		uri[name] = strings.Fields(out)[1]
	}
	root := filepath.Join(dir, "root.crt")
	mustSignerctl(t, "ca", "root", "--config", config, "--key", uri["root"], "--cn", "root", "--out", root)
	rootPEM, err := os.ReadFile(root)
	must(t, err)
	fresh := filepath.Join(dir, "inter.crt")
	inter := func(config, out string, extra ...string) []string {
		return append([]string{"ca", "intermediate", "--config", config, "--parent-cert", root, "--parent-key", uri["root"],
			"--key", uri["inter"], "--origin", "marketplace", "--cn", "CA", "--out", out}, extra...)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantMsg  string
	}{
		{"wrong parent key", inter(config, fresh, "--parent-key", uri["other"]), 1, "is not the key of"},
		{"existing out", inter(config, root), 1, "already exists"},
		{"unknown origin", inter(config, fresh, "--origin", "custom"), 2, "--origin"},
		{"missing config", inter("", fresh), 2, "missing required flag(s): --config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signerctl(t, tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantMsg) {
				t.Fatalf("exit %d, stderr %q; want exit %d with %q", r.code, r.stderr, tt.wantCode, tt.wantMsg)
			}
		})
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Error("a refused command wrote its --out")
	}
	if b, _ := os.ReadFile(root); string(b) != string(rootPEM) {
		t.Error("a refused command changed the existing root certificate")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("files left behind: %v", left)
	}
	mustSignerctl(t, inter(config, fresh)...)
}

package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/bundle"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/revocation"
)

// ctl runs signerctl in process.
func ctl(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func mustCtl(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := ctl(t, args...)
	if code != 0 {
		t.Fatalf("signerctl %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// ceremony is a software-key CA ceremony in a temporary directory.
type ceremony struct {
	dir, config string
	keys        map[string]string // name -> URI
}

func newCeremony(t *testing.T, keyNames ...string) *ceremony {
	t.Helper()
	c := &ceremony{dir: t.TempDir(), keys: map[string]string{}}
	c.config = filepath.Join(c.dir, "ceremony.yaml")
	writeFile(t, c.config, "backends:\n  softkms: {dir: "+filepath.Join(c.dir, "keys")+"}\n")
	for _, name := range keyNames {
		var created struct{ URI string }
		out := mustCtl(t, "ca", "keygen", "--config", c.config, "--backend", "softkms", "--name", name, "--output", "json")
		if err := json.Unmarshal([]byte(out), &created); err != nil || created.URI == "" {
			t.Fatalf("keygen output %q: %v", out, err)
		}
		c.keys[name] = created.URI
	}
	return c
}

func (c *ceremony) path(name string) string { return filepath.Join(c.dir, name) }

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := chain.ParseCertificatePEM(b)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("%s: mode %v (%v), want 0644", path, fi.Mode().Perm(), err)
	}
	return c
}

// TestCAHierarchyProfiles issues the whole hierarchy with software keys and
// checks every certificate with the verifiers that will consume it.
func TestCAHierarchyProfiles(t *testing.T) {
	c := newCeremony(t, "root", "marketplace", "private-build", "bundle", "revocation")
	root, k := c.path("root.crt"), c.keys
	out := mustCtl(t, "ca", "root", "--config", c.config, "--key", k["root"], "--cn", "test root CA", "--out", root)
	wantContains(t, out, "root CA")
	rootCert := readCert(t, root)
	if !rootCert.IsCA || rootCert.MaxPathLen != 1 || rootCert.CheckSignatureFrom(rootCert) != nil {
		t.Fatalf("root: CA %v, path length %d; want a self-signed CA with path length 1", rootCert.IsCA, rootCert.MaxPathLen)
	}
	wantContains(t, out, colonHex(bundle.Fingerprint(rootCert)))
	if got := rootCert.NotAfter.Sub(rootCert.NotBefore); got < caRootValidity || got > caRootValidity+chain.Backdate {
		t.Errorf("root lifetime %s, want the default %s", got, caRootValidity)
	}

	parent := []string{"--config", c.config, "--parent-cert", root, "--parent-key", k["root"]}
	issue := func(args ...string) *x509.Certificate {
		t.Helper()
		out := mustCtl(t, append(append([]string{"ca"}, args[0]), append(parent, args[1:]...)...)...)
		return readCert(t, out[len("wrote "):strings.IndexByte(out, '\n')])
	}
	market := issue("intermediate", "--key", k["marketplace"], "--origin", "marketplace", "--cn", "test marketplace CA", "--out", c.path("marketplace.crt"))
	pb := issue("intermediate", "--key", k["private-build"], "--origin", "private-build", "--cn", "test private-build CA", "--out", c.path("pb.crt"))
	bundleSigner := issue("signer", "--key", k["bundle"], "--role", "bundle", "--cn", "test bundle signer", "--out", c.path("bundle.crt"))
	revSigner := issue("signer", "--key", k["revocation"], "--role", "revocation", "--cn", "test revocation signer", "--out", c.path("revocation.crt"))

	roots := x509.NewCertPool()
	roots.AddCert(rootCert)
	for _, ca := range []*x509.Certificate{market, pb} {
		if _, err := ca.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("%s does not chain to the root: %v", ca.Subject, err)
		}
		if !ca.IsCA || !ca.MaxPathLenZero {
			t.Errorf("%s: want a CA with path length 0", ca.Subject)
		}
	}
	if len(pb.Policies) != 1 || !pb.Policies[0].Equal(chain.PrivateBuildPolicy()) {
		t.Errorf("private-build CA policies %v, want only %s", pb.Policies, chain.PrivateBuildPolicyOID)
	}
	if len(market.Policies) != 0 {
		t.Errorf("marketplace CA has policies %v", market.Policies)
	}
	now := time.Now()
	for _, tc := range []struct {
		cert        *x509.Certificate
		may, mayNot x509.OID
	}{
		{bundleSigner, bundle.SigningPolicy(), revocation.RevocationSigningPolicy()},
		{revSigner, revocation.RevocationSigningPolicy(), bundle.SigningPolicy()},
	} {
		if _, err := revocation.VerifySignerCertificate(tc.cert, tc.may, []*x509.Certificate{rootCert}, nil, now); err != nil {
			t.Errorf("%s refused for its purpose: %v", tc.cert.Subject, err)
		}
		if _, err := revocation.VerifySignerCertificate(tc.cert, tc.mayNot, []*x509.Certificate{rootCert}, nil, now); err == nil {
			t.Errorf("%s accepted for the other purpose", tc.cert.Subject)
		}
	}

	// show names each profile and both fingerprints.
	out = mustCtl(t, "ca", "show", root, c.path("pb.crt"), c.path("bundle.crt"), c.path("revocation.crt"))
	for _, want := range []string{"root CA", "private-build intermediate CA", "trust-bundle signer", "revocation-list signer", "path length 1", "path length 0", rootCert.SerialNumber.Text(16)} {
		wantContains(t, out, want)
	}
	fp, err := chain.KeyFingerprint(rootCert.PublicKey.(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, out, fp)
}

func wantContains(t *testing.T, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("output does not contain %q:\n%s", want, got)
	}
}

// TestCAIntermediateValidity checks --not-before (a pre-positioned next
// intermediate) and that a child never outlives its root.
func TestCAIntermediateValidity(t *testing.T) {
	c := newCeremony(t, "root", "next", "long")
	root := c.path("root.crt")
	mustCtl(t, "ca", "root", "--config", c.config, "--key", c.keys["root"], "--cn", "root", "--validity", "87600h", "--out", root)
	parent := []string{"ca", "intermediate", "--config", c.config, "--parent-cert", root, "--parent-key", c.keys["root"], "--origin", "marketplace"}

	start := time.Now().Add(90 * 24 * time.Hour).UTC().Truncate(time.Second)
	mustCtl(t, append(parent, "--key", c.keys["next"], "--cn", "next CA", "--not-before", start.Format(time.RFC3339), "--validity", "8760h", "--out", c.path("next.crt"))...)
	next := readCert(t, c.path("next.crt"))
	if !next.NotBefore.Equal(start) || !next.NotAfter.Equal(start.Add(8760*time.Hour)) {
		t.Errorf("validity %s to %s, want %s to %s", next.NotBefore, next.NotAfter, start, start.Add(8760*time.Hour))
	}

	code, _, stderr := ctl(t, append(parent, "--key", c.keys["long"], "--cn", "long CA", "--validity", "175200h", "--out", c.path("long.crt"))...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	wantContains(t, stderr, "capped")
	if long, rootCert := readCert(t, c.path("long.crt")), readCert(t, root); !long.NotAfter.Equal(rootCert.NotAfter) {
		t.Errorf("intermediate ends %s, after its root (%s)", long.NotAfter, rootCert.NotAfter)
	}
}

// TestCARefusals: bad input exits with a usage or failure status, names
// what is wrong, echoes no secret, and leaves no file behind.
func TestCARefusals(t *testing.T) {
	c := newCeremony(t, "root", "other", "inter")
	root, k := c.path("root.crt"), c.keys
	mustCtl(t, "ca", "root", "--config", c.config, "--key", k["root"], "--cn", "root", "--out", root)
	mustCtl(t, "ca", "signer", "--config", c.config, "--parent-cert", root, "--parent-key", k["root"], "--key", k["other"], "--role", "revocation", "--cn", "rev", "--out", c.path("rev.crt"))
	rootPEM, _ := os.ReadFile(root)
	badConfig := c.path("bad.yaml")
	writeFile(t, badConfig, "backends:\n  softkms: {dir: /k, colour: blue}\n")
	inter := func(out string, extra ...string) []string {
		return append([]string{"ca", "intermediate", "--config", c.config, "--parent-cert", root, "--parent-key", k["root"], "--key", k["inter"], "--origin", "marketplace", "--cn", "CA", "--out", out}, extra...)
	}
	fresh := c.path("fresh.crt")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantMsg  string
	}{
		{"missing --config", []string{"ca", "root", "--key", k["root"], "--cn", "r", "--out", fresh}, exitUsage, "missing required flag(s): --config"},
		{"unreadable config", []string{"ca", "root", "--config", c.path("none.yaml"), "--key", k["root"], "--cn", "r", "--out", fresh}, exitUsage, "no such file"},
		{"unknown config field", []string{"ca", "root", "--config", badConfig, "--key", k["root"], "--cn", "r", "--out", fresh}, exitUsage, "colour"},
		{"unknown origin", inter(fresh, "--origin", "custom"), exitUsage, `--origin "custom"`},
		{"unknown role", []string{"ca", "signer", "--config", c.config, "--parent-cert", root, "--parent-key", k["root"], "--key", k["inter"], "--role", "code", "--cn", "s", "--out", fresh}, exitUsage, "--role"},
		{"bad --not-before", inter(fresh, "--not-before", "tomorrow"), exitUsage, "RFC 3339"},
		{"negative validity", inter(fresh, "--validity", "-1h"), exitUsage, "must be positive"},
		{"bad output format", inter(fresh, "--output", "yaml"), exitUsage, "use one of text, json"},
		{"missing parent", []string{"ca", "intermediate", "--config", c.config, "--key", k["inter"], "--origin", "marketplace", "--cn", "CA", "--out", fresh}, exitUsage, "--parent-cert"},
		{"secret in a key URI", inter(fresh, "--key", "pkcs11:token=t;object=o;pin-value=8642-secret"), exitUsage, "secret"},
		{"backend not configured", inter(fresh, "--key", "awskms:key-id=alias/x"), exitUsage, "no backends.awskms section"},
		{"missing out directory", inter(filepath.Join(c.dir, "no", "such", "dir", "x.crt")), exitUsage, "does not exist"},
		{"unknown key", inter(fresh, "--key", "softkms:path="+c.path("keys/none.key")), exitError, "--key"},
		{"wrong parent key", inter(fresh, "--parent-key", k["other"]), exitError, "is not the key of"},
		{"parent is not a CA", inter(fresh, "--parent-cert", c.path("rev.crt"), "--parent-key", k["other"]), exitError, "not a CA"},
		{"parent's own key", inter(fresh, "--key", k["root"]), exitError, "parent's own key"},
		{"existing out", inter(root), exitError, "already exists"},
		{"show without files", []string{"ca", "show"}, exitUsage, "at least one"},
		{"show a non-certificate", []string{"ca", "show", c.config}, exitMalformed, "not a PEM certificate"},
		{"keygen: existing name", []string{"ca", "keygen", "--config", c.config, "--backend", "softkms", "--name", "root"}, exitError, "exists"},
		{"keygen: unconfigured backend", []string{"ca", "keygen", "--config", c.config, "--backend", "pkcs11", "--name", "x"}, exitUsage, "no backends.pkcs11 section"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := ctl(t, tt.args...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.wantMsg) {
				t.Fatalf("exit %d, stderr %q; want exit %d with %q", code, stderr, tt.wantCode, tt.wantMsg)
			}
			if strings.Contains(stdout+stderr, "8642-secret") {
				t.Fatal("output echoes a secret from a key URI")
			}
		})
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Error("a refused command wrote --out")
	}
	if b, _ := os.ReadFile(root); !bytes.Equal(b, rootPEM) {
		t.Error("a refused command changed an existing certificate")
	}
	if tmp, _ := filepath.Glob(filepath.Join(c.dir, ".*tmp*")); len(tmp) > 0 {
		t.Errorf("temporary files left behind: %v", tmp)
	}

	// --force replaces, atomically.
	mustCtl(t, inter(root, "--force")...)
	if got := readCert(t, root); got.Subject.CommonName != "CA" {
		t.Errorf("--force left %q in place", got.Subject)
	}
}

// TestCAShowExpiry: a warning 30 days ahead, exit 5 only with --fail-within.
func TestCAShowExpiry(t *testing.T) {
	c := newCeremony(t, "root", "signer")
	root := c.path("root.crt")
	mustCtl(t, "ca", "root", "--config", c.config, "--key", c.keys["root"], "--cn", "root", "--out", root)
	short := c.path("short.crt")
	mustCtl(t, "ca", "signer", "--config", c.config, "--parent-cert", root, "--parent-key", c.keys["root"], "--key", c.keys["signer"], "--role", "bundle", "--cn", "short", "--validity", "240h", "--out", short)

	code, stdout, stderr := ctl(t, "ca", "show", root, short)
	if code != 0 {
		t.Fatalf("show: exit %d: %s", code, stderr)
	}
	wantContains(t, stderr, "warning: "+short)
	if strings.Contains(stderr, "warning: "+root) {
		t.Errorf("warning for the 20-year root: %s", stderr)
	}
	wantContains(t, stdout, "trust-bundle signer")

	code, stdout, _ = ctl(t, "ca", "show", "--output", "json", "--fail-within", "720h", root, short)
	if code != exitExpired {
		t.Errorf("--fail-within 720h: exit %d, want %d", code, exitExpired)
	}
	var rep struct {
		Certificates []caCertInfo
		Warnings     []string
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("show --output json: %v\n%s", err, stdout)
	}
	if len(rep.Certificates) != 2 || len(rep.Warnings) != 1 || rep.Certificates[0].MaxPathLen == nil || *rep.Certificates[0].MaxPathLen != 1 {
		t.Errorf("json report %+v", rep)
	}
	if code, _, _ := ctl(t, "ca", "show", "--fail-within", "24h", root, short); code != 0 {
		t.Errorf("--fail-within 24h with 10 days left: exit %d, want 0", code)
	}
}

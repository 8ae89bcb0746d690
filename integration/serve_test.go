package integration

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	_ "google.golang.org/grpc/health/grpc_health_v1"
	_ "google.golang.org/grpc/reflection/grpc_reflection_v1"
	_ "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/appsign/signer/gen/signer/v1"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/auth/authtest"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/pkcs11kms/softhsmtest"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/transport/transporttest"
)

// prodEnv is a `signer serve` with mutual TLS, a policy file, a software
// CA and one certificate per caller role.
type prodEnv struct {
	secrets []string // must never appear in any log line or output
	srv     *devServer
	dir     string
	caFile  string
	certs   map[string][2]string // role name -> cert, key files
	tlsCA   *transporttest.CA
	policy  *auth.Policy
	trustRT string // root CA file of the signing PKI
	// What TestServeRefusesCAOutsideTheTrustRoots changes and reruns.
	config, configFile, interFile, caKeyPath, dbURL string
}

const testPolicy = `version: 1
trust_domain: appsign
identities:
  - id: spiffe://appsign/pipeline/review-1
    roles: [pipeline]
  - prefix: spiffe://appsign/auditor/
    roles: [auditor]
  - prefix: spiffe://appsign/security-admin/
    roles: [security-admin]
  - id: spiffe://appsign/vendor/acme/ci
    roles: [vendor]
    vendor: acme
    app_key_prefixes: [com.acme]
  - id: spiffe://appsign/vendor/globex/ci
    roles: []
`

var callerIDs = map[string]string{
	"pipeline":       "spiffe://appsign/pipeline/review-1",
	"auditor":        "spiffe://appsign/auditor/alice",
	"security-admin": "spiffe://appsign/security-admin/bob",
	"vendor":         "spiffe://appsign/vendor/acme/ci",
	"suspended":      "spiffe://appsign/vendor/globex/ci",
	"unknown":        "spiffe://appsign/stranger/eve",
}

func startServe(t *testing.T) *prodEnv {
	t.Helper()
	e := &prodEnv{dir: t.TempDir(), certs: map[string][2]string{}}
	must(t, os.Chmod(e.dir, 0o700))

	// Signing PKI: root and intermediate keys in the software backend.
	keysDir := filepath.Join(e.dir, "keys")
	be := softkms.New(softkms.Options{Dir: keysDir})
	rootURI, err := be.CreateKey(t.Context(), kms.CreateKeyRequest{Name: "root-ca"})
	must(t, err)
	caURI, err := be.CreateKey(t.Context(), kms.CreateKeyRequest{Name: "marketplace-ca"})
	must(t, err)
	rootKey, err := softkms.ReadKeyFile(rootURI.Get("path"))
	must(t, err)
	caKey, err := softkms.ReadKeyFile(caURI.Get("path"))
	must(t, err)
	now := time.Now()
	root, err := chain.NewRootCA(rand.Reader, rootKey, "test root CA", now, 24*time.Hour)
	must(t, err)
	inter, err := chain.NewIntermediateCA(rand.Reader, root, rootKey, caKey.Public().(ed25519.PublicKey), "test marketplace CA", now, 24*time.Hour)
	must(t, err)
	pbURI, err := be.CreateKey(t.Context(), kms.CreateKeyRequest{Name: "private-build-ca"})
	must(t, err)
	pbKey, err := softkms.ReadKeyFile(pbURI.Get("path"))
	must(t, err)
	pb, err := chain.NewPrivateBuildCA(rand.Reader, root, rootKey, pbKey.Public().(ed25519.PublicKey), "test private-build CA", now, 24*time.Hour)
	must(t, err)
	e.trustRT = filepath.Join(e.dir, "root.crt")
	interFile := filepath.Join(e.dir, "inter.crt")
	pbFile := filepath.Join(e.dir, "private-build.crt")
	must(t, os.WriteFile(e.trustRT, chain.CertificatePEM(root), 0o644))
	must(t, os.WriteFile(interFile, chain.CertificatePEM(inter), 0o644))
	must(t, os.WriteFile(pbFile, chain.CertificatePEM(pb), 0o644))

	// Transport PKI: server certificate and one client certificate per caller.
	e.tlsCA = transporttest.NewCA(t, "signer clients")
	e.caFile = e.tlsCA.WriteCA(t, e.dir, "tls-ca.crt")
	srvCert, srvKey := transporttest.WritePair(t, e.dir, "server", e.tlsCA.Server(t))
	for name, id := range callerIDs {
		c, k := transporttest.WritePair(t, e.dir, name, e.tlsCA.Client(t, id))
		e.certs[name] = [2]string{c, k}
	}
	policyFile := filepath.Join(e.dir, "policy.yaml")
	must(t, os.WriteFile(policyFile, []byte(testPolicy), 0o644))
	e.policy, err = auth.LoadPolicy(policyFile)
	must(t, err)

	// An HSM token for the pkcs11 backend; its PINs are secrets.
	tok := softhsmtest.New(t)
	e.secrets = append(e.secrets, tok.UserPIN, tok.SOPIN)
	for _, p := range []string{rootURI.Get("path"), caURI.Get("path"), pbURI.Get("path")} {
		e.secrets = append(e.secrets, keyFileSecrets(t, p)...)
	}

	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
tls: {cert_file: %s, key_file: %s, client_ca_file: %s}
spool_dir: %s
backends:
  softkms: {dir: %s}
  pkcs11: {module: %s, token: %s, pin_file: %s}
keys:
  archive_signing: marketplace-signing
  archive_signing_backend: softkms
  ca: {uri: %q, certificate: %s}
trust:
  roots: [%s]
  intermediates: [%s]
  revocation:
    issuer: test marketplace
    list_signer: {uri: %q, certificate: %s}
    cas:
      - {name: root, uri: %q, certificate: %s}
      - {name: marketplace, uri: %q, certificate: %s}
      - {name: private-build, uri: %q, certificate: %s}
auth: {policy_file: %s}
metrics: {listen: 127.0.0.1:0}
shutdown_grace: 10s
database: {dev_setup: true} # the test cluster's superuser
`, srvCert, srvKey, e.caFile, e.dir, keysDir, tok.Options.ModulePath, tok.Label, tok.Options.PINFile, caURI.String(), interFile,
		e.trustRT, interFile, rootURI.String(), e.trustRT, rootURI.String(), e.trustRT, caURI.String(), interFile, pbURI.String(), pbFile, policyFile)
	cfgFile := filepath.Join(e.dir, "signer.yaml")
	must(t, os.WriteFile(cfgFile, []byte(cfg), 0o600))
	e.config, e.configFile, e.interFile, e.caKeyPath = cfg, cfgFile, interFile, caURI.Get("path")

	// The test cluster trusts its socket, so a password in the URL is
	// ignored by PostgreSQL but still a secret the signer must not print.
	const dbPassword = "db-Pa55word-never-logged"
	dbURL := withPassword(t, pgtest.URL(t), dbPassword)
	e.secrets = append(e.secrets, dbPassword)
	signer, _ := binaries(t)
	if r := runEnv(t, []string{"DATABASE_URL=" + dbURL}, signer, "migrate"); r.code != 0 {
		t.Fatalf("signer migrate: %d %s", r.code, r.stderr)
	}
	e.dbURL = dbURL
	e.srv = startSigner(t, []string{"DATABASE_URL=" + dbURL}, e.dir, "serve", "--config", cfgFile)
	return e
}

// as runs signerctl as the named caller over mutual TLS.
func (e *prodEnv) as(t *testing.T, caller string, args ...string) result {
	t.Helper()
	if caller == "" { // an offline command: it takes no connection flags
		return signerctl(t, args...)
	}
	pair := e.certs[caller]
	full := append([]string{"--tls-ca", e.caFile, "--tls-cert", pair[0], "--tls-key", pair[1]}, args...)
	return signerctl(t, full...)
}

func (e *prodEnv) conn(t *testing.T, caller string) *grpc.ClientConn {
	t.Helper()
	pair := e.certs[caller]
	cert, err := tls.LoadX509KeyPair(pair[0], pair[1])
	must(t, err)
	c, err := grpc.NewClient(e.srv.Addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		MinVersion: tls.VersionTLS12, RootCAs: e.tlsCA.Pool(), Certificates: []tls.Certificate{cert},
	})))
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestServeRolesAndTransport is the attacker's checklist against `signer
// serve`: each role reaches exactly its RPCs; unknown, suspended and
// certificate-less callers and plaintext are refused.
func TestServeRolesAndTransport(t *testing.T) {
	e := startServe(t)
	dir := t.TempDir()
	archive := writeArchive(t, dir, "app.jar", 64<<10, 5)
	truststore := filepath.Join(dir, "ts")
	vendorKey, vendorCert := filepath.Join(dir, "vendor.key"), filepath.Join(dir, "vendor.crt")

	steps := []struct {
		name     string
		caller   string
		args     []string
		wantCode int
		wantMsg  string
	}{
		{"pipeline signs", "pipeline", []string{"sign", "--server", e.srv.Addr, "--app-key", "com.example.app", "--version", "1.0.0", archive}, 0, "ledger entry"},
		{"auditor reads the ledger", "auditor", []string{"ledger", "list", "--server", e.srv.Addr}, 0, "com.example.app"},
		{"pipeline cannot read the ledger", "pipeline", []string{"ledger", "list", "--server", e.srv.Addr}, 1, "PermissionDenied"},
		{"auditor cannot sign", "auditor", []string{"sign", "--server", e.srv.Addr, "--app-key", "com.example.app", "--version", "1.0.1", archive}, 1, "PermissionDenied"},
		{"auditor cannot rotate", "auditor", []string{"key", "rotate", "--server", e.srv.Addr, "marketplace-signing"}, 1, "PermissionDenied"},
		{"security admin rotates", "security-admin", []string{"key", "rotate", "--server", e.srv.Addr, "marketplace-signing"}, 0, "active"},
		{"security admin creates an HSM key", "security-admin", []string{"key", "create", "--server", e.srv.Addr, "--backend", "pkcs11", "hsm-signing"}, 0, "pkcs11"},
		{"bad key name is a clear error", "security-admin", []string{"key", "create", "--server", e.srv.Addr, "--backend", "softkms", "Bad Name"}, 1, "InvalidArgument"},
		{"vendor cannot sign a marketplace release", "vendor", []string{"sign", "--server", e.srv.Addr, "--app-key", "com.acme.app", "--version", "1.0.0", archive}, 1, "PermissionDenied"},
		{"vendor cannot sign another vendor's app", "vendor", []string{"sign", "--server", e.srv.Addr, "--track", "private-build", "--app-key", "com.globex.app", "--version", "1.0.0", archive}, 1, "PermissionDenied"},
		{"vendor makes a key", "", []string{"vendor", "keygen", "--out", vendorKey}, 0, ""},
		{"vendor gets a private-build certificate for its app", "vendor", []string{"vendor", "certify", "--server", e.srv.Addr, "--key", vendorKey, "--app-key", "com.acme.app", "--out-cert", vendorCert}, 0, ""},
		{"vendor cannot get a certificate for another vendor's app", "vendor", []string{"vendor", "certify", "--server", e.srv.Addr, "--key", vendorKey, "--app-key", "com.globex.app", "--out-cert", filepath.Join(dir, "stolen.crt")}, 1, "PermissionDenied"},
		{"key revocation needs a second security admin", "security-admin", []string{"revoke", "key", "--server", e.srv.Addr, "--fingerprint", strings.Repeat("ab", 32), "--effective-from", "now", "--reason", "key-compromise"}, 1, "second security admin"},
		{"suspended vendor refused", "suspended", []string{"bundle", "get", "--server", e.srv.Addr, "--out", filepath.Join(dir, "x")}, 1, "PermissionDenied"},
		{"unknown identity refused", "unknown", []string{"bundle", "get", "--server", e.srv.Addr, "--out", filepath.Join(dir, "y")}, 1, "Unauthenticated"},
		{"pipeline gets the bundle", "pipeline", []string{"bundle", "get", "--server", e.srv.Addr, "--out", truststore}, 0, "wrote"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := e.as(t, s.caller, s.args...)
			if r.code != s.wantCode || !strings.Contains(r.stdout+r.stderr, s.wantMsg) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d with %q", r.code, r.stdout, r.stderr, s.wantCode, s.wantMsg)
			}
		})
	}
	mustSignerctl(t, "verify", "--truststore", truststore, archive)

	t.Run("no client certificate", func(t *testing.T) {
		r := signerctl(t, "--tls-ca", e.caFile, "ledger", "list", "--server", e.srv.Addr)
		if r.code == 0 {
			t.Fatalf("a caller without a client certificate was served: %q", r.stdout)
		}
	})
	t.Run("plaintext refused", func(t *testing.T) {
		r := signerctl(t, "ledger", "list", "--server", e.srv.Addr)
		if r.code == 0 {
			t.Fatalf("plaintext call was served: %q", r.stdout)
		}
	})

	// Nothing secret reached the logs: PINs, key material, the database password.
	t.Run("no secrets in logs", func(t *testing.T) {
		logs := e.srv.stderr.String()
		if !strings.Contains(logs, `"msg":"rpc"`) {
			t.Fatalf("no request logs captured:\n%.2000s", logs)
		}
		for _, secret := range e.secrets {
			if strings.Contains(logs, secret) {
				t.Errorf("signer log contains a secret (%d bytes)", len(secret))
			}
		}
	})

	// Every method of every registered service, as every kind of caller.
	t.Run("matrix", func(t *testing.T) {
		authtest.RunMatrix(t, serviceInfo(t), e.policy,
			authtest.Caller{Name: "unknown", Conn: e.conn(t, "unknown"), Anonymous: true},
			authtest.Caller{Name: "suspended", Conn: e.conn(t, "suspended"), Roles: []auth.Role{}},
			authtest.Caller{Name: "pipeline", Conn: e.conn(t, "pipeline"), Roles: []auth.Role{auth.RolePipeline}},
			authtest.Caller{Name: "auditor", Conn: e.conn(t, "auditor"), Roles: []auth.Role{auth.RoleAuditor}},
			authtest.Caller{Name: "security-admin", Conn: e.conn(t, "security-admin"), Roles: []auth.Role{auth.RoleSecurityAdmin}},
			authtest.Caller{Name: "vendor", Conn: e.conn(t, "vendor"), Roles: []auth.Role{auth.RoleVendor}},
		)
	})
}

// keyFileSecrets returns the key material of a PKCS#8 PEM file in the
// forms a leak would take: the base64 body lines and the raw seed in hex.
func keyFileSecrets(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if len(line) > 16 && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	priv, err := chain.ParsePrivateKeyPEM(b)
	must(t, err)
	return append(out, fmt.Sprintf("%x", priv.Seed()))
}

func withPassword(t *testing.T, dbURL, password string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	must(t, err)
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String()
}

func runEnv(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// serviceInfo lists every gRPC service the signer binary can register, from
// the descriptors linked into this test: everything in package signer.v1
// (so a new service is covered the day it is generated), health and
// reflection. The matrix then proves each method refuses the wrong callers.
func serviceInfo(t *testing.T) map[string]grpc.ServiceInfo {
	t.Helper()
	out := map[string]grpc.ServiceInfo{}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		pkg := string(fd.Package())
		if pkg != "signer.v1" && pkg != "grpc.health.v1" && pkg != "grpc.reflection.v1" && pkg != "grpc.reflection.v1alpha" {
			return true
		}
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			info := grpc.ServiceInfo{}
			for j := 0; j < sd.Methods().Len(); j++ {
				m := sd.Methods().Get(j)
				info.Methods = append(info.Methods, grpc.MethodInfo{Name: string(m.Name()), IsClientStream: m.IsStreamingClient(), IsServerStream: m.IsStreamingServer()})
			}
			out[string(sd.FullName())] = info
		}
		return true
	})
	if _, ok := out["signer.v1.SignerService"]; !ok {
		t.Fatal("signer.v1 descriptors are not linked into the test")
	}
	return out
}

// TestServeRefusesCAOutsideTheTrustRoots: an issuing CA whose certificate
// (for the right key) was issued by a root the trust bundle does not list
// would issue signing certificates no trust store accepts. signer serve
// refuses to start with it and says why.
func TestServeRefusesCAOutsideTheTrustRoots(t *testing.T) {
	e := startServe(t)
	caKey, err := softkms.ReadKeyFile(e.caKeyPath)
	must(t, err)
	_, otherRootKey, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	now := time.Now()
	otherRoot, err := chain.NewRootCA(rand.Reader, otherRootKey, "some other root", now, 24*time.Hour)
	must(t, err)
	foreign, err := chain.NewIntermediateCA(rand.Reader, otherRoot, otherRootKey, caKey.Public().(ed25519.PublicKey), "test marketplace CA", now, time.Hour)
	must(t, err)
	foreignFile := filepath.Join(e.dir, "foreign-inter.crt")
	must(t, os.WriteFile(foreignFile, chain.CertificatePEM(foreign), 0o644))
	caLine := "certificate: " + e.interFile + "}\ntrust:"
	if !strings.Contains(e.config, caLine) {
		t.Fatalf("the test config changed shape; no %q in:\n%s", caLine, e.config)
	}
	cfgFile := filepath.Join(e.dir, "foreign.yaml")
	must(t, os.WriteFile(cfgFile, []byte(strings.Replace(e.config, caLine, "certificate: "+foreignFile+"}\ntrust:", 1)), 0o600))

	signer, _ := binaries(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, signer, "serve", "--config", cfgFile)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+e.dbURL)
	out, err := cmd.CombinedOutput()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("signer serve with a foreign issuing CA: err %v (timed out: %v)\n%s", err, ctx.Err() != nil, out)
	}
	if !strings.Contains(string(out), "keys.ca") || !strings.Contains(string(out), "does not chain to a configured root") {
		t.Fatalf("the refusal does not say which CA and why:\n%s", out)
	}
}

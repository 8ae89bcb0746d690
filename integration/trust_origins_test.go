package integration

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestTrustOrigins signs and verifies one archive per origin end to end:
// a marketplace signature from the service, a private build signed offline
// with a vendor's own key certified by the service for its app keys, and a
// custom app signed with the customer's own self-signed key.
func TestTrustOrigins(t *testing.T) {
	requirePostgresBinaries(t)
	srv := startDev(t)
	work := t.TempDir()
	truststore := filepath.Join(work, "truststore")
	mustSignerctl(t, "bundle", "get", "--server", srv.Addr, "--out", truststore)

	t.Run("marketplace", func(t *testing.T) {
		app := writeArchive(t, work, "market.jar", 300<<10, 1)
		signEntry(t, srv.Addr, app, "com.example.market", "1.0.0")
		code, rep := verifyJSON(t, "--truststore", truststore, app)
		if code != 0 || rep.Origin != "marketplace" {
			t.Fatalf("verify: exit %d, %+v", code, rep)
		}
		if err := opensslCheck(t, app+".sig", app, truststore); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("private build", func(t *testing.T) {
		app := writeArchive(t, work, "pb.jar", 200<<10, 2)
		key, cert, caChain := filepath.Join(work, "vendor.key"), filepath.Join(work, "vendor.crt"), filepath.Join(work, "vendor-chain.pem")
		mustSignerctl(t, "vendor", "keygen", "--out", key)
		// The dev identity is a vendor owning com.example.*; others' app keys are refused.
		r := signerctl(t, "vendor", "certify", "--server", srv.Addr, "--key", key, "--app-key", "com.other.app", "--out-cert", cert)
		if r.code != 1 {
			t.Fatalf("certify for an app key the vendor does not own: exit %d, want 1\n%s", r.code, r.stderr)
		}
		wantContains(t, "refusal", r.stderr, "PermissionDenied")
		mustSignerctl(t, "vendor", "certify", "--server", srv.Addr, "--key", key, "--app-key", "com.example.pb", "--out-cert", cert, "--out-chain", caChain)
		// Offline: no server, the vendor's key never leaves this machine.
		mustSignerctl(t, "sign", "--key", key, "--cert", cert, "--chain", caChain, app)
		if !signatureFileHasCertificate(t, app+".sig") {
			t.Fatal("private-build signature file lacks the vendor certificate")
		}
		cases := []struct {
			name      string
			appKey    string
			wantCode  int
			wantCause string
		}{
			{"the app key it is scoped to", "com.example.pb", 0, ""},
			{"another app key", "com.example.other", 4, "out-of-scope"},
			{"no app key named", "", 4, "out-of-scope"},
		}
		for _, tc := range cases {
			args := []string{"--truststore", truststore, app}
			if tc.appKey != "" {
				args = append([]string{"--app-key", tc.appKey}, args...)
			}
			code, rep := verifyJSON(t, args...)
			if code != tc.wantCode || rep.Cause != tc.wantCause || rep.Origin != "private-build" {
				t.Errorf("%s: exit %d, %+v; want exit %d cause %q origin private-build", tc.name, code, rep, tc.wantCode, tc.wantCause)
			}
		}
		// The customer's trust store is unchanged and OpenSSL accepts the chain.
		if err := opensslCheck(t, app+".sig", app, truststore); err != nil {
			t.Fatal(err)
		}
		// Policy warn for private builds accepts the out-of-scope case with a warning.
		code, rep := verifyJSON(t, "--policy", "private-build=warn", "--app-key", "com.example.other", "--truststore", truststore, app)
		if code != 0 || rep.Valid || !rep.Accepted {
			t.Errorf("policy warn: exit %d, %+v; want accepted with a warning", code, rep)
		}
	})

	t.Run("custom", func(t *testing.T) {
		app := writeArchive(t, work, "custom.jar", 100<<10, 3)
		dir := filepath.Join(work, "custom")
		mustSignerctl(t, "custom", "init", "--out", dir, "--name", "ACME internal apps")
		key, cert := filepath.Join(dir, "app-signing.key"), filepath.Join(dir, "app-signing.crt")
		if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
		}
		if r := signerctl(t, "custom", "init", "--out", dir); r.code == 0 {
			t.Fatal("custom init replaced an existing key")
		}
		mustSignerctl(t, "sign", "--key", key, "--cert", cert, app)
		if signatureFileHasCertificate(t, app+".sig") {
			t.Fatal("custom signature file carries a certificate; it must come from the trust store")
		}
		// Not yet in the trust store: untrusted, and nothing says it is custom.
		if code, rep := verifyJSON(t, "--truststore", truststore, app); code != 4 || rep.Origin != "unknown" {
			t.Errorf("before the certificate is trusted: exit %d, %+v; want 4", code, rep)
		}
		own := filepath.Join(work, "truststore-custom")
		copyDir(t, truststore, own)
		b, err := os.ReadFile(cert)
		if err != nil {
			t.Fatal(err)
		}
		must(t, os.WriteFile(filepath.Join(own, "custom-acme.pem"), b, 0o444))
		if code, rep := verifyJSON(t, "--truststore", own, app); code != 0 || rep.Origin != "custom" {
			t.Errorf("with the certificate trusted: exit %d, %+v; want 0", code, rep)
		}
		// Pure Ed25519 over the archive, as the verifier's troubleshooting guide checks it.
		var f map[string]string
		raw, _ := os.ReadFile(app + ".sig")
		must(t, json.Unmarshal(raw, &f))
		sig, _ := base64.StdEncoding.DecodeString(f["signature"])
		sigBin, pub := filepath.Join(work, "custom.sig.bin"), filepath.Join(work, "custom.pub")
		must(t, os.WriteFile(sigBin, sig, 0o644))
		openssl := requireTool(t, "openssl")
		r := run(t, openssl, "x509", "-in", cert, "-noout", "-pubkey")
		must(t, os.WriteFile(pub, []byte(r.stdout), 0o644))
		if r := run(t, openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", app, "-sigfile", sigBin); r.code != 0 {
			t.Errorf("openssl pkeyutl -verify: %s%s", r.stdout, r.stderr)
		}
		// Policy off for custom apps does not reach a signature that verifies
		// under no trust-store certificate (the file cannot claim to be
		// custom); only the grace period for unsigned apps does.
		if code, rep := verifyJSON(t, "--policy", "custom=off", "--truststore", truststore, app); code != 4 || rep.Accepted {
			t.Errorf("policy custom=off: exit %d, %+v; want 4", code, rep)
		}
		if code, rep := verifyJSON(t, "--policy", "unsigned=off", "--truststore", truststore, app); code != 0 || !rep.Accepted || rep.Origin != "unknown" {
			t.Errorf("policy unsigned=off: exit %d, %+v", code, rep)
		}
	})

	t.Run("unsigned during the grace period", func(t *testing.T) {
		app := writeArchive(t, work, "unsigned.jar", 10<<10, 4)
		if code, _ := verifyJSON(t, "--grace-until", "2099-01-01T00:00:00Z", "--truststore", truststore, app); code != 0 {
			t.Errorf("grace period: exit %d, want 0", code)
		}
		if code, rep := verifyJSON(t, "--grace-until", "2000-01-01T00:00:00Z", "--truststore", truststore, app); code != 6 || rep.Accepted {
			t.Errorf("after the grace period: exit %d, %+v; want 6", code, rep)
		}
	})
}

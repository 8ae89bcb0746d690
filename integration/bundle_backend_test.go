package integration

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
)

// TestOfflineRootCRLAndHSMBundle runs the offline part of production with
// the root key and the bundle-signing key in SoftHSM2: the root issues its
// CRL with `signerctl ca crl` (revoking the private-build intermediate),
// which OpenSSL verifies and applies, and `bundle export --key-uri` signs a
// bundle with the HSM key that `bundle verify` and OpenSSL accept.
func TestOfflineRootCRLAndHSMBundle(t *testing.T) {
	openssl := requireTool(t, "openssl")
	c := runCACeremony(t)
	root := c.file("root.crt")
	c.keygen(t, "pkcs11", "bundle-signer-hsm")
	hsmSignerCert := c.file("bundle-signer-hsm.crt")
	c.ctl(t, "signer", "--config", c.config, "--parent-cert", root, "--parent-key", c.keys["root-ca"],
		"--key", c.keys["bundle-signer-hsm"], "--role", "bundle", "--cn", "appsign bundle signer (HSM)", "--out", hsmSignerCert)
	work := t.TempDir()

	// The root's CRL, signed in the HSM, revokes the private-build CA from
	// an hour ago; the serial is given as OpenSSL prints it.
	pbSerial := opensslSerial(t, openssl, c.file("private-build.crt"))
	revokedAt := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	revokedFile := filepath.Join(work, "revoked.txt")
	must(t, os.WriteFile(revokedFile, []byte("# revoked by the root, ceremony 2026-1\n\n"+
		pbSerial+"  "+revokedAt.Format(time.RFC3339)+"  ca-compromise\n"), 0o644))
	rootCRL := filepath.Join(work, "root.crl")
	var issued struct {
		Wrote   []string `json:"wrote"`
		Number  int64    `json:"number"`
		Revoked []struct {
			Serial string `json:"serial"`
		} `json:"revoked"`
	}
	out := c.ctl(t, "crl", "--config", c.config, "--ca-cert", root, "--ca-key", c.keys["root-ca"], "--revoked-file", revokedFile,
		"--number", "1", "--next-update", "720h", "--out", rootCRL, "--form", "der,pem", "--output", "json")
	must(t, json.Unmarshal([]byte(out), &issued))
	if len(issued.Wrote) != 2 || issued.Wrote[1] != rootCRL+".pem" || issued.Number != 1 || len(issued.Revoked) != 1 ||
		!strings.EqualFold(issued.Revoked[0].Serial, strings.TrimLeft(pbSerial, "0")) {
		t.Errorf("ca crl printed %s", out)
	}

	// OpenSSL verifies the CRL's signature under the root ...
	if r := run(t, openssl, "crl", "-inform", "DER", "-in", rootCRL, "-CAfile", root, "-noout"); r.code != 0 || !strings.Contains(r.stdout+r.stderr, "verify OK") {
		t.Errorf("openssl crl -CAfile root: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	// ... and with it refuses the revoked intermediate and accepts the other.
	crlPEM := rootCRL + ".pem"
	if r := run(t, openssl, "verify", "-crl_check", "-CAfile", root, "-CRLfile", crlPEM, c.file("private-build.crt")); r.code == 0 ||
		!strings.Contains(r.stdout+r.stderr, "certificate revoked") {
		t.Errorf("openssl verify -crl_check accepted the revoked private-build CA: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, openssl, "verify", "-crl_check", "-CAfile", root, "-CRLfile", crlPEM, c.file("marketplace.crt")); r.code != 0 {
		t.Errorf("openssl verify -crl_check refused the marketplace CA, which is not revoked: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	// The CRL says what the file said, and the PEM holds the same CRL.
	der, err := os.ReadFile(rootCRL)
	must(t, err)
	crl, err := x509.ParseRevocationList(der)
	must(t, err)
	pb := readCertFile(t, c.file("private-build.crt"))
	if crl.Number.Cmp(big.NewInt(1)) != 0 || len(crl.RevokedCertificateEntries) != 1 {
		t.Fatalf("CRL number %v with %d entries; want number 1 with one entry", crl.Number, len(crl.RevokedCertificateEntries))
	}
	if e := crl.RevokedCertificateEntries[0]; e.SerialNumber.Cmp(pb.SerialNumber) != 0 || !e.RevocationTime.Equal(revokedAt) || e.ReasonCode != 2 {
		t.Errorf("CRL entry serial %x at %s reason %d; want %x at %s reason 2 (cACompromise)", e.SerialNumber, e.RevocationTime, e.ReasonCode, pb.SerialNumber, revokedAt)
	}
	pemBytes, err := os.ReadFile(crlPEM)
	must(t, err)
	if block, _ := pem.Decode(pemBytes); block == nil || block.Type != "X509 CRL" || !bytes.Equal(block.Bytes, der) {
		t.Error("root.crl.pem does not hold the DER CRL of root.crl")
	}

	// The bundle signer in the HSM exports a bundle carrying the root CRL;
	// signerctl and OpenSSL accept its manifest signature.
	b := filepath.Join(work, "trust-bundle-v1")
	out = mustSignerctl(t, "bundle", "export", "--config", c.config, "--key-uri", c.keys["bundle-signer-hsm"], "--signer-cert", hsmSignerCert,
		"--version", "1", "--roots", root, "--intermediates", c.file("marketplace.crt"), "--crl", rootCRL, "--out", b)
	c.outputs = append(c.outputs, out)
	m := fingerprintRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("bundle export printed no root fingerprint:\n%s", out)
	}
	out = mustSignerctl(t, "bundle", "verify", "--bootstrap-fingerprint", m[1], b)
	wantContains(t, "bundle verify", out, "OK bundle version 1")
	signerPEM, err := os.ReadFile(filepath.Join(b, "manifest-signer.pem"))
	must(t, err)
	if want, _ := os.ReadFile(hsmSignerCert); !bytes.Equal(signerPEM, want) {
		t.Error("manifest-signer.pem is not the HSM bundle signer's certificate")
	}
	pub := filepath.Join(work, "signer.pub")
	if r := run(t, openssl, "x509", "-in", filepath.Join(b, "manifest-signer.pem"), "-noout", "-pubkey", "-out", pub); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := run(t, openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin",
		"-in", filepath.Join(b, "manifest.json"), "-sigfile", filepath.Join(b, "manifest.sig")); r.code != 0 {
		t.Errorf("openssl pkeyutl rejects manifest.sig made in the HSM: %s%s", r.stdout, r.stderr)
	}

	// The next CRL, PEM only, from --revoked in OpenSSL's colon form.
	mktSerial := readCertFile(t, c.file("marketplace.crt")).SerialNumber
	next := filepath.Join(work, "root-2.crl.pem")
	c.ctl(t, "crl", "--config", c.config, "--ca-cert", root, "--ca-key", c.keys["root-ca"], "--revoked", colonSerial(mktSerial)+","+pbSerial,
		"--number", "2", "--next-update", "8784h", "--form", "pem", "--out", next)
	if r := run(t, openssl, "crl", "-in", next, "-CAfile", root, "-noout"); r.code != 0 {
		t.Errorf("openssl crl (PEM): exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, openssl, "verify", "-crl_check", "-CAfile", root, "-CRLfile", next, c.file("marketplace.crt")); r.code == 0 {
		t.Errorf("openssl verify -crl_check accepted the marketplace CA revoked by CRL 2: %s", r.stdout)
	}

	t.Run("refusals", func(t *testing.T) { testOfflineTrustRefusals(t, c, work, rootCRL, hsmSignerCert) })

	for _, secret := range c.secrets {
		if strings.Contains(strings.Join(c.outputs, "\n"), secret) {
			t.Errorf("a secret (%d bytes) appears in signerctl output", len(secret))
		}
	}
}

// testOfflineTrustRefusals: bad flags and mismatched keys are refused with
// the documented exit status and a message naming the problem; nothing is
// written and an existing file is left as it was.
func testOfflineTrustRefusals(t *testing.T, c *caCeremony, work, rootCRL, hsmSignerCert string) {
	root := c.file("root.crt")
	fresh := filepath.Join(work, "fresh")
	badFile := filepath.Join(work, "bad-serials.txt")
	must(t, os.WriteFile(badFile, []byte("0a1b\nnot-hex 2026-01-01T00:00:00Z\n"), 0o644))
	futureFile := filepath.Join(work, "future.txt")
	must(t, os.WriteFile(futureFile, []byte("0a1b "+time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339)+"\n"), 0o644))
	archiveReasonFile := filepath.Join(work, "archive-reason.txt")
	must(t, os.WriteFile(archiveReasonFile, []byte("0a1b malicious\n"), 0o644))
	existingPEM := filepath.Join(work, "exists.crl")
	must(t, os.WriteFile(existingPEM+".pem", []byte("keep me\n"), 0o644))

	export := func(args ...string) []string {
		base := []string{"bundle", "export", "--signer-cert", hsmSignerCert, "--version", "2", "--roots", root, "--out", fresh}
		return append(base, args...)
	}
	hsmKey := []string{"--config", c.config, "--key-uri", c.keys["bundle-signer-hsm"]}
	crl := func(args ...string) []string {
		base := []string{"ca", "crl", "--config", c.config, "--ca-cert", root, "--ca-key", c.keys["root-ca"],
			"--number", "3", "--next-update", "720h", "--out", fresh}
		return append(base, args...)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantMsg  string
	}{
		{"export: both --key and --key-uri", export(append(hsmKey, "--key", c.file("keys/bundle-signer.key"))...), 2, "[key key-uri] were all set"},
		{"export: neither --key nor --key-uri", export(), 2, "at least one of the flags in the group [key key-uri] is required"},
		{"export: --key-uri without --config", export("--key-uri", c.keys["bundle-signer-hsm"]), 2, "group [key-uri config] are set they must all be set; missing [config]"},
		{"export: HSM key URI given to --key", export("--key", c.keys["bundle-signer-hsm"]), 2, "takes --config FILE --key-uri URI"},
		{"export: key is not the signer certificate's", export(append(hsmKey, "--signer-cert", c.file("bundle-signer.crt"))...), 1, "is not the certificate of key"},
		{"export: existing --out", export(append(hsmKey, "--out", filepath.Join(work, "trust-bundle-v1"))...), 1, "already exists"},
		{"crl: key is not the CA's", crl("--ca-key", c.keys["bundle-signer-hsm"]), 1, "is not the key of --ca-cert"},
		{"crl: certificate is not a CA", crl("--ca-cert", hsmSignerCert, "--ca-key", c.keys["bundle-signer-hsm"]), 1, "is not a CA certificate allowed to sign CRLs"},
		{"crl: bad serial", crl("--revoked", "0a1b,xyz"), 2, `--revoked "xyz": not a serial number in hex`},
		{"crl: zero serial", crl("--revoked", "00"), 2, "serial numbers are positive"},
		{"crl: bad serial in file", crl("--revoked-file", badFile), 2, "line 2: serial \"not-hex\""},
		{"crl: revocation time in the future", crl("--revoked-file", futureFile), 2, "is in the future"},
		{"crl: reason X.509 lacks", crl("--revoked-file", archiveReasonFile), 2, `"malicious" is neither an RFC 3339 time nor a CRL reason`},
		{"crl: both --revoked and --revoked-file", crl("--revoked", "0a1b", "--revoked-file", badFile), 2, "not both"},
		{"crl: number zero", crl("--number", "0"), 2, "must be positive"},
		{"crl: negative number", crl("--number", "-2"), 2, "must be positive"},
		{"crl: no next update", crl("--next-update", "0s"), 2, "--next-update"},
		{"crl: unknown form", crl("--form", "xml"), 2, "--form"},
		{"crl: existing --out", crl("--out", rootCRL), 1, "already exists"},
		{"crl: existing PEM of der,pem", crl("--out", existingPEM, "--form", "der,pem"), 1, "already exists"},
	}
	rootCRLBefore, err := os.ReadFile(rootCRL)
	must(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signerctl(t, tt.args...)
			c.outputs = append(c.outputs, r.stdout, r.stderr)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantMsg) {
				t.Fatalf("exit %d, stderr %q; want exit %d with %q", r.code, r.stderr, tt.wantCode, tt.wantMsg)
			}
		})
	}
	for _, p := range []string{fresh, existingPEM} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a refused command wrote %s", p)
		}
	}
	if b, _ := os.ReadFile(existingPEM + ".pem"); string(b) != "keep me\n" {
		t.Error("a refused command changed an existing file")
	}
	if b, _ := os.ReadFile(rootCRL); !bytes.Equal(b, rootCRLBefore) {
		t.Error("a refused command changed the existing CRL")
	}
	if left, _ := filepath.Glob(filepath.Join(work, ".*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}

	// --force replaces the CRL with the next one.
	c.ctl(t, crl("--out", rootCRL, "--force")[1:]...)
	der, err := os.ReadFile(rootCRL)
	must(t, err)
	if crl, err := x509.ParseRevocationList(der); err != nil || crl.Number.Cmp(big.NewInt(3)) != 0 {
		t.Errorf("--force: CRL number %v (%v), want 3", crl, err)
	}
}

// opensslSerial is a certificate's serial as `openssl x509 -serial` prints it.
func opensslSerial(t *testing.T, openssl, certFile string) string {
	t.Helper()
	r := run(t, openssl, "x509", "-in", certFile, "-noout", "-serial")
	serial, ok := strings.CutPrefix(strings.TrimSpace(r.stdout), "serial=")
	if r.code != 0 || !ok {
		t.Fatalf("openssl x509 -serial: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	return serial
}

// colonSerial is n in OpenSSL's -text form, lowercase: 0a:1b:….
func colonSerial(n *big.Int) string {
	h := n.Text(16)
	if len(h)%2 == 1 {
		h = "0" + h
	}
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

func readCertFile(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	c, err := chain.ParseCertificatePEM(b)
	must(t, err)
	return c
}

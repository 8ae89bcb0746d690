package chain

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// tamperedCopy returns cert with one bit of its signature flipped.
func tamperedCopy(t *testing.T, cert *x509.Certificate) *x509.Certificate {
	t.Helper()
	raw := bytes.Clone(cert.Raw)
	raw[len(raw)-1] ^= 0x01 // last byte of the signature BIT STRING
	tampered, err := x509.ParseCertificate(raw)
	if err != nil {
		t.Fatal(err)
	}
	return tampered
}

func TestOpenSSLVerifiesChain(t *testing.T) {
	openssl := requireTool(t, "openssl")
	c := newTestChain(t, testNow)
	other := newTestChain(t, testNow)
	dir := t.TempDir()
	rootPEM := writePEMFile(t, dir, "root.pem", c.root)
	interPEM := writePEMFile(t, dir, "inter.pem", c.inter)
	// Validate at the tests' clock, not the machine's.
	attime := strconv.FormatInt(testNow.Unix(), 10)

	tests := []struct {
		name  string
		leaf  *x509.Certificate
		valid bool
	}{
		{"our chain", c.leaf, true},
		{"leaf from another root", other.leaf, false},
		{"tampered leaf", tamperedCopy(t, c.leaf), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leafPEM := writePEMFile(t, t.TempDir(), "leaf.pem", tt.leaf)
			out, err := exec.Command(openssl, "verify", "-attime", attime, "-x509_strict",
				"-CAfile", rootPEM, "-untrusted", interPEM, leafPEM).CombinedOutput()
			if valid := err == nil; valid != tt.valid {
				t.Errorf("openssl verify valid=%v, want %v: %s", valid, tt.valid, out)
			}
			// A rejection must come from path validation, not a usage error.
			if !tt.valid && !bytes.Contains(out, []byte("error ")) {
				t.Errorf("openssl verify did not report a validation error: %s", out)
			}
		})
	}
}

// TestOpenSSLChecksSignatureFile runs the ecosystem's troubleshooting
// procedure on a signature file we produce.
func TestOpenSSLChecksSignatureFile(t *testing.T) {
	openssl := requireTool(t, "openssl")
	c := newTestChain(t, testNow)
	dir := t.TempDir()
	archive := bytes.Repeat([]byte("PK\x03\x04 app archive "), 1000)
	sigJSON, err := SignatureFile{Signature: ed25519.Sign(c.leafKey, archive), Certificate: CertificatePEM(c.leaf)}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var decoded struct{ Signature, Certificate string }
	if err := json.Unmarshal(sigJSON, &decoded); err != nil {
		t.Fatal(err)
	}
	sig, _ := base64.StdEncoding.DecodeString(decoded.Signature)
	cert, _ := base64.StdEncoding.DecodeString(decoded.Certificate)
	files := map[string][]byte{"app.jar": archive, "signature.bin": sig, "certificate.crt": cert}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) ([]byte, error) {
		cmd := exec.Command(openssl, args...)
		cmd.Dir = dir
		return cmd.CombinedOutput()
	}
	pubPEM, err := run("x509", "-in", "certificate.crt", "-noout", "-pubkey")
	if err != nil {
		t.Fatalf("openssl x509: %v: %s", err, pubPEM)
	}
	if err := os.WriteFile(filepath.Join(dir, "public_key.pem"), pubPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	verify := []string{"pkeyutl", "-verify", "-pubin", "-inkey", "public_key.pem", "-rawin", "-in", "app.jar", "-sigfile", "signature.bin"}
	if out, err := run(verify...); err != nil {
		t.Fatalf("openssl pkeyutl rejects our signature file: %v: %s", err, out)
	}
	archive[0] ^= 1
	if err := os.WriteFile(filepath.Join(dir, "app.jar"), archive, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(verify...); err == nil {
		t.Fatalf("openssl pkeyutl accepts a tampered archive: %s", out)
	}
}

func TestJavaPKIXValidatesChain(t *testing.T) {
	javac := requireTool(t, "javac")
	java := requireTool(t, "java")
	classes := t.TempDir()
	if out, err := exec.Command(javac, "-d", classes, filepath.Join("testdata", "PKIXCheck.java")).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v: %s", err, out)
	}
	c := newTestChain(t, testNow)
	other := newTestChain(t, testNow)
	dir := t.TempDir()
	rootPEM := writePEMFile(t, dir, "root.pem", c.root)
	interPEM := writePEMFile(t, dir, "inter.pem", c.inter)
	millis := strconv.FormatInt(testNow.UnixMilli(), 10)

	tests := []struct {
		name  string
		leaf  *x509.Certificate
		inter string
		valid bool
	}{
		{"our chain", c.leaf, interPEM, true},
		{"tampered leaf signature", tamperedCopy(t, c.leaf), interPEM, false},
		{"tampered intermediate signature", c.leaf, writePEMFile(t, dir, "bad-inter.pem", tamperedCopy(t, c.inter)), false},
		{"leaf from another root", other.leaf, writePEMFile(t, dir, "other-inter.pem", other.inter), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leafPEM := writePEMFile(t, t.TempDir(), "leaf.pem", tt.leaf)
			cmd := exec.Command(java, "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", classes, "PKIXCheck", millis, rootPEM, leafPEM, tt.inter)
			out, err := cmd.CombinedOutput()
			var exitErr *exec.ExitError
			switch {
			case err == nil && !tt.valid:
				t.Errorf("JDK PKIX accepted: %s", out)
			case err != nil && tt.valid:
				t.Errorf("JDK PKIX rejected: %v: %s", err, out)
			case err != nil && !(errorAs(err, &exitErr) && exitErr.ExitCode() == 1):
				t.Errorf("PKIXCheck failed to run: %v: %s", err, out)
			}
		})
	}
}

package eddsa

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// opensslPath returns the openssl binary, skipping the test when there is
// none, except under CI, where a missing openssl is a failure.
func opensslPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openssl not found, and CI=true: %v", err)
		}
		t.Skipf("openssl not found: %v", err)
	}
	return path
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	return writeFile(t, dir, name, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// TestOpenSSLCrossCheck checks signatures of this package with OpenSSL's own
// pure Ed25519 (pkeyutl -rawin), in both directions.
func TestOpenSSLCrossCheck(t *testing.T) {
	openssl := opensslPath(t)
	ctx := context.Background()
	r := newRand(20)
	dir := t.TempDir()

	pub, priv := randKey(r)
	msg := randBytes(r, bufSize+bufSize/2+17) // spans two buffers
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := writePEM(t, dir, "pub.pem", "PUBLIC KEY", pubDER)
	privPEM := writePEM(t, dir, "priv.pem", "PRIVATE KEY", privDER)
	msgPath := writeFile(t, dir, "msg.bin", msg)
	tamperedPath := writeFile(t, dir, "tampered.bin", flipBit(msg, 8*len(msg)/3))

	f, err := os.Open(msgPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sig, err := Sign(ctx, priv, f, int64(len(msg)))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	sigPath := writeFile(t, dir, "sig.bin", sig)

	verify := func(msgFile string) ([]byte, error) {
		cmd := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pubPEM,
			"-rawin", "-in", msgFile, "-sigfile", sigPath)
		return cmd.CombinedOutput()
	}
	if out, err := verify(msgPath); err != nil {
		t.Fatalf("openssl rejects our signature: %v\n%s", err, out)
	}
	if out, err := verify(tamperedPath); err == nil {
		t.Fatalf("openssl accepts our signature on a tampered message:\n%s", out)
	}

	// The other way: OpenSSL signs, and its (deterministic) signature must
	// be byte-for-byte ours and verify here.
	osslSigPath := filepath.Join(dir, "ossl.sig")
	cmd := exec.Command(openssl, "pkeyutl", "-sign", "-inkey", privPEM, "-rawin", "-in", msgPath, "-out", osslSigPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl pkeyutl -sign: %v\n%s", err, out)
	}
	osslSig, err := os.ReadFile(osslSigPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(osslSig, sig) {
		t.Fatalf("OpenSSL signature %x\ndiffers from ours %x", osslSig, sig)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	if err := Verify(ctx, pub, f, osslSig); err != nil {
		t.Fatalf("Verify(OpenSSL signature): %v", err)
	}
	if !ed25519.Verify(pub, msg, osslSig) {
		t.Fatal("crypto/ed25519 rejects the OpenSSL signature")
	}
}

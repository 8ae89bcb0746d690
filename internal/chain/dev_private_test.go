package chain

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPrivateBuildPolicyIsUnderTheSignerArc pins the policy OID issued
// certificates carry: changing the arc would orphan every one of them.
func TestPrivateBuildPolicyIsUnderTheSignerArc(t *testing.T) {
	const issued = "2.25.295465786072241152305637901735596287484.3"
	if PrivateBuildPolicyOID != issued {
		t.Fatalf("PrivateBuildPolicyOID = %s, want %s", PrivateBuildPolicyOID, issued)
	}
	if got := PrivateBuildPolicy().String(); got != issued {
		t.Fatalf("PrivateBuildPolicy() = %s, want %s", got, issued)
	}
}

func TestPrivateBuildCertificateScope(t *testing.T) {
	c := newTestChain(t, testNow)
	pbKey, vendorKey := newKey(t), newKey(t)
	pbCA, err := NewPrivateBuildCA(rand.Reader, c.root, c.rootKey, pubOf(pbKey), "test private-build CA", testNow, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	vendor, err := NewPrivateBuildCertificate(rand.Reader, pbCA, pbKey, pubOf(vendorKey), "acme", []string{"com.acme.a", "com.acme.b"}, testNow, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ts := NewTrustStore(c.root, c.inter, pbCA)
	if _, err := ts.VerifySigningCertificate(vendor, testNow); err != nil {
		t.Fatalf("vendor certificate does not chain through the private-build CA: %v", err)
	}
	if keys, scoped := AppKeyScope(vendor); !scoped || strings.Join(keys, ",") != "com.acme.a,com.acme.b" {
		t.Errorf("AppKeyScope = %v, %v", keys, scoped)
	}
	if _, scoped := AppKeyScope(c.leaf); scoped {
		t.Errorf("a marketplace signing certificate reports a scope")
	}
	cases := []struct {
		name    string
		appKey  string
		wantErr bool
	}{
		{"listed app key", "com.acme.b", false},
		{"another vendor's app", "com.other.a", true},
		{"a key below a listed one is not listed", "com.acme.a.sub", true},
		{"no app key to check", "", true},
	}
	for _, tc := range cases {
		err := CheckAppKeyScope(vendor, tc.appKey)
		if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, ErrOutOfScope)) {
			t.Errorf("%s: CheckAppKeyScope(%q) = %v, want error %v", tc.name, tc.appKey, err, tc.wantErr)
		}
	}
	if err := CheckAppKeyScope(c.leaf, ""); err != nil {
		t.Errorf("marketplace certificate: %v, want no scope check", err)
	}
	// OpenSSL, the verifier's own tool, accepts the chain.
	openssl := requireTool(t, "openssl")
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	out, err := exec.Command(openssl, "verify", "-attime", "1772366400", "-CAfile", write("root.pem", CertificatePEM(c.root)),
		"-untrusted", write("pb.pem", CertificatePEM(pbCA)), write("vendor.pem", CertificatePEM(vendor))).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
}

func TestEnsureDevPrivateBuildCA(t *testing.T) {
	dir := t.TempDir()
	pki, err := EnsureDevPKI(rand.Reader, dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	first, err := EnsureDevPrivateBuildCA(rand.Reader, dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Cert.CheckSignatureFrom(pki.Root); err != nil || !first.Cert.IsCA {
		t.Fatalf("private-build CA not a CA issued by the dev root: %v", err)
	}
	again, err := EnsureDevPrivateBuildCA(rand.Reader, dir, testNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cert.Equal(first.Cert) {
		t.Errorf("second run re-issued the CA instead of reusing it")
	}
	pub := again.Cert.PublicKey.(ed25519.PublicKey)
	if fi, err := os.Stat(again.KeyPath); err != nil || fi.Mode().Perm() != 0o600 || len(pub) != ed25519.PublicKeySize {
		t.Errorf("key file %s: %v, mode %v", again.KeyPath, err, fi.Mode())
	}
}

package chain

import (
	"crypto/rand"
	"crypto/x509"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOpenSSLChecksEveryProfile issues one certificate of each profile
// through this package and has OpenSSL validate its path (-x509_strict)
// and print its extensions, which must be exactly the profile's: a change
// to any issuing function that alters what a verifier sees fails here.
func TestOpenSSLChecksEveryProfile(t *testing.T) {
	openssl := requireTool(t, "openssl")
	const year = 365 * 24 * time.Hour
	c := newTestChain(t, testNow)
	pbKey, vendorKey, trustKey, customKey := newKey(t), newKey(t), newKey(t), newKey(t)
	pbCA, err := NewPrivateBuildCA(rand.Reader, c.root, c.rootKey, pubOf(pbKey), "test private-build CA", testNow, year)
	if err != nil {
		t.Fatal(err)
	}
	vendor, err := NewPrivateBuildCertificate(rand.Reader, pbCA, pbKey, pubOf(vendorKey), "acme", []string{"com.acme.a"}, testNow, year)
	if err != nil {
		t.Fatal(err)
	}
	purpose := PolicyArc + ".2"
	purposeOID, err := x509.ParseOID(purpose)
	if err != nil {
		t.Fatal(err)
	}
	trustSigner, err := NewTrustSignerCertificate(rand.Reader, c.root, c.rootKey, pubOf(trustKey), "test trust signer", purposeOID, testNow, year)
	if err != nil {
		t.Fatal(err)
	}
	custom, err := NewCustomSigningCertificate(rand.Reader, customKey, "acme custom apps", testNow, year)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	rootPEM := writePEMFile(t, dir, "root.pem", c.root)
	attime := strconv.FormatInt(testNow.Unix(), 10)
	tests := []struct {
		name       string
		cert       *x509.Certificate
		anchor     string // -CAfile
		untrusted  []*x509.Certificate
		verifyArgs []string // extra openssl verify options
		want       []string // lines openssl x509 -text must print
		wantNot    []string // and must not
	}{
		{
			name: "root CA", cert: c.root, anchor: rootPEM,
			want:    []string{"Subject: O = signer, CN = test root CA", "CA:TRUE, pathlen:1", "Certificate Sign, CRL Sign", "Subject Key Identifier", "Authority Key Identifier"},
			wantNot: []string{"Digital Signature", "Extended Key Usage", "Certificate Policies"},
		},
		{
			name: "intermediate CA", cert: c.inter, anchor: rootPEM,
			want:    []string{"Subject: O = signer, CN = test marketplace CA", "CA:TRUE, pathlen:0", "Certificate Sign, CRL Sign", "Subject Key Identifier", "Authority Key Identifier"},
			wantNot: []string{"Digital Signature", "Extended Key Usage", "Certificate Policies"},
		},
		{
			name: "code-signing certificate", cert: c.leaf, anchor: rootPEM, untrusted: []*x509.Certificate{c.inter},
			want:    []string{"Subject: O = signer, CN = test signing", "CA:FALSE", "Digital Signature", "Code Signing", "Subject Key Identifier", "Authority Key Identifier"},
			wantNot: []string{"Certificate Sign", "Certificate Policies", "Subject Alternative Name"},
		},
		{
			name: "private-build CA", cert: pbCA, anchor: rootPEM,
			want:    []string{"CA:TRUE, pathlen:0", "Certificate Sign, CRL Sign", "Policy: " + PrivateBuildPolicyOID, "Subject Key Identifier"},
			wantNot: []string{"Digital Signature", "Extended Key Usage"},
		},
		{
			name: "private-build certificate", cert: vendor, anchor: rootPEM, untrusted: []*x509.Certificate{pbCA},
			verifyArgs: []string{"-policy", PrivateBuildPolicyOID, "-explicit_policy"},
			want:       []string{"Subject: O = signer, OU = acme, CN = private build: acme", "CA:FALSE", "Digital Signature", "Code Signing", "URI:" + AppKeyURIPrefix + "com.acme.a", "Policy: " + PrivateBuildPolicyOID},
			wantNot:    []string{"Certificate Sign"},
		},
		{
			name: "trust-metadata signer", cert: trustSigner, anchor: rootPEM,
			verifyArgs: []string{"-policy", purpose, "-explicit_policy"},
			want:       []string{"Subject: O = signer, CN = test trust signer", "CA:FALSE", "Digital Signature", "1.3.6.1.5.5.7.3.36", "Policy: " + purpose, "Authority Key Identifier"},
			wantNot:    []string{"Code Signing", "Certificate Sign", "Subject Key Identifier"},
		},
		{
			name: "custom-app certificate", cert: custom, anchor: writePEMFile(t, dir, "custom.pem", custom),
			want:    []string{"Subject: CN = acme custom apps", "Issuer: CN = acme custom apps", "CA:FALSE", "Digital Signature", "Code Signing"},
			wantNot: []string{"O = signer", "Certificate Sign", "Subject Key Identifier", "Authority Key Identifier", "Certificate Policies"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			certPEM := writePEMFile(t, tmp, "cert.pem", tt.cert)
			args := append([]string{"verify", "-attime", attime, "-x509_strict", "-purpose", "any", "-CAfile", tt.anchor}, tt.verifyArgs...)
			if len(tt.untrusted) > 0 {
				args = append(args, "-untrusted", writePEMFile(t, tmp, "untrusted.pem", tt.untrusted...))
			}
			if out, err := exec.Command(openssl, append(args, certPEM)...).CombinedOutput(); err != nil {
				t.Errorf("openssl verify: %v: %s", err, out)
			}
			out, err := exec.Command(openssl, "x509", "-in", certPEM, "-noout", "-text").CombinedOutput()
			if err != nil {
				t.Fatalf("openssl x509 -text: %v: %s", err, out)
			}
			text := string(out)
			for _, w := range append([]string{"Signature Algorithm: ED25519", "Public Key Algorithm: ED25519", "Not Before: Mar  1 11:55:00 2026 GMT"}, tt.want...) {
				if !strings.Contains(text, w) {
					t.Errorf("openssl x509 -text lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(text, w) {
					t.Errorf("openssl x509 -text shows %q, which this profile must not have:\n%s", w, text)
				}
			}
		})
	}
}

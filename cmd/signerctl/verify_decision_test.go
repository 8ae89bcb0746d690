package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/verifypolicy"
)

// verifyFixture is a customer trust store (dev root, marketplace CA,
// private-build CA, one custom certificate) and signature files made
// against it by each kind of signer, honest and not.
type verifyFixture struct {
	truststore, archive string
	sigs                map[string]string // name -> signature file
}

func newVerifyFixture(t *testing.T) *verifyFixture {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	pki, err := chain.EnsureDevPKI(rand.Reader, filepath.Join(dir, "dev"), now)
	must(t, err)
	pb, err := chain.EnsureDevPrivateBuildCA(rand.Reader, filepath.Join(dir, "dev"), now)
	must(t, err)
	pbKey := readPKCS8(t, pb.KeyPath)
	f := &verifyFixture{truststore: filepath.Join(dir, "truststore"), archive: filepath.Join(dir, "app.jar"), sigs: map[string]string{}}
	must(t, chain.WriteTrustStore(f.truststore, chain.BundleFor([]*x509.Certificate{pki.Root}, []*x509.Certificate{pki.Intermediate, pb.Cert})))
	archive := make([]byte, 64<<10)
	_, _ = rand.Read(archive)
	must(t, os.WriteFile(f.archive, archive, 0o644))

	sign := func(name string, key ed25519.PrivateKey, cert *x509.Certificate, msg []byte) {
		sf := chain.SignatureFile{Signature: ed25519.Sign(key, msg)}
		if cert != nil {
			sf.Certificate = chain.CertificatePEM(cert)
		}
		b, err := sf.Marshal()
		must(t, err)
		f.sigs[name] = filepath.Join(dir, name+".sig")
		must(t, os.WriteFile(f.sigs[name], b, 0o644))
	}
	sign("marketplace", pki.SigningKey, pki.Signing, archive)
	sign("marketplace-tampered", pki.SigningKey, pki.Signing, append([]byte("x"), archive...))

	vendorKey := newEdKey(t)
	vendor, err := chain.NewPrivateBuildCertificate(rand.Reader, pb.Cert, pbKey, vendorKey.Public().(ed25519.PublicKey), "acme", []string{"com.acme.app"}, now, time.Hour)
	must(t, err)
	sign("private-build", vendorKey, vendor, archive)

	// A fake root and private-build CA, named like ours, issuing an
	// app-key certificate: everything a file can claim, nothing it can prove.
	fakeRootKey, fakePBKey, malloryKey := newEdKey(t), newEdKey(t), newEdKey(t)
	fakeRoot, err := chain.NewRootCA(rand.Reader, fakeRootKey, chain.DevRootCN, now, time.Hour)
	must(t, err)
	fakePB, err := chain.NewPrivateBuildCA(rand.Reader, fakeRoot, fakeRootKey, fakePBKey.Public().(ed25519.PublicKey), chain.DevPrivateBuildCN, now, time.Hour)
	must(t, err)
	fake, err := chain.NewPrivateBuildCertificate(rand.Reader, fakePB, fakePBKey, malloryKey.Public().(ed25519.PublicKey), "mallory", []string{"com.acme.app"}, now, time.Hour)
	must(t, err)
	sign("fake-ca", malloryKey, fake, archive)

	sign("random-no-certificate", newEdKey(t), nil, []byte("not the archive"))

	customKey := newEdKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "ACME custom apps"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, customKey.Public(), customKey)
	must(t, err)
	custom, err := x509.ParseCertificate(der)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(f.truststore, "custom-acme.pem"), chain.CertificatePEM(custom), 0o644))
	sign("custom", customKey, nil, archive)
	f.sigs["missing"] = filepath.Join(dir, "no-such.sig")
	return f
}

func newEdKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	return k
}

func readPKCS8(t *testing.T, path string) ed25519.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	block, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	must(t, err)
	return k.(ed25519.PrivateKey)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// exitCodeOf is the exit status verify would end with for rep.
func exitCodeOf(rep *verifyReport) int {
	err := rep.result()
	if err == nil {
		return exitOK
	}
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	return exitError
}

// TestRunVerifyDecision runs verify's decision path in process and asserts
// on the report's values (origin, accepted, exit status, failure kind),
// never on printed text: the CLI half of verifypolicy's tests.
func TestRunVerifyDecision(t *testing.T) {
	f := newVerifyFixture(t)
	tests := []struct {
		name         string
		sig          string
		appKey       string
		policy       string
		requireRevoc bool
		grace        time.Duration // >0: grace period ends that far ahead; <0: ended
		wantOrigin   string
		wantAccepted bool
		wantExit     int
		wantErr      error // errors.Is target, or nil
	}{
		{"marketplace", "marketplace", "", "", false, 0, chain.OriginMarketplace, true, exitOK, nil},
		{"marketplace, no revocation list, --require-revocation", "marketplace", "", "", true, 0, chain.OriginMarketplace, false, exitRevoked, verifypolicy.ErrNoRevocationList},
		{"marketplace, --require-revocation under marketplace=warn", "marketplace", "", "marketplace=warn", true, 0, chain.OriginMarketplace, true, exitOK, verifypolicy.ErrNoRevocationList},
		{"tampered archive under marketplace=off", "marketplace-tampered", "", "marketplace=off", false, 0, chain.OriginUnknown, false, exitBadSig, chain.ErrBadSignature},
		{"private build for its app", "private-build", "com.acme.app", "", false, 0, chain.OriginPrivateBuild, true, exitOK, nil},
		{"private build for another app", "private-build", "com.globex.app", "", false, 0, chain.OriginPrivateBuild, false, exitUntrusted, chain.ErrOutOfScope},
		{"private build for another app, marketplace=off", "private-build", "com.globex.app", "marketplace=off", false, 0, chain.OriginPrivateBuild, false, exitUntrusted, chain.ErrOutOfScope},
		{"private build for another app, private-build=warn", "private-build", "com.globex.app", "private-build=warn", false, 0, chain.OriginPrivateBuild, true, exitOK, chain.ErrOutOfScope},
		{"private build without --app-key", "private-build", "", "", false, 0, chain.OriginPrivateBuild, false, exitUntrusted, chain.ErrOutOfScope},
		{"fake CA under private-build=warn", "fake-ca", "com.acme.app", "private-build=warn", false, 0, chain.OriginUnknown, false, exitUntrusted, chain.ErrUntrusted},
		{"fake CA under every origin off", "fake-ca", "com.acme.app", "marketplace=off,private-build=off,custom=off", false, 0, chain.OriginUnknown, false, exitUntrusted, chain.ErrUntrusted},
		{"random file under marketplace=enforce,custom=off", "random-no-certificate", "", "marketplace=enforce,custom=off", false, 0, chain.OriginUnknown, false, exitBadSig, chain.ErrBadSignature},
		{"random file under unsigned=warn", "random-no-certificate", "", "unsigned=warn", false, 0, chain.OriginUnknown, true, exitOK, chain.ErrBadSignature},
		{"custom app from the trust store", "custom", "", "", false, 0, chain.OriginCustom, true, exitOK, nil},
		{"no signature file", "missing", "", "custom=off", false, 0, chain.OriginUnknown, false, exitMalformed, nil},
		{"no signature file within the grace period", "missing", "", "", false, time.Hour, chain.OriginUnknown, true, exitOK, nil},
		{"no signature file after the grace period", "missing", "", "", false, -time.Hour, chain.OriginUnknown, false, exitMalformed, nil},
		{"no signature file under unsigned=off", "missing", "", "unsigned=off", false, 0, chain.OriginUnknown, true, exitOK, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol, err := verifypolicy.Parse(tt.policy)
			must(t, err)
			var grace time.Time
			if tt.grace != 0 {
				grace = time.Now().Add(tt.grace)
			}
			cmd := newVerifyCommand()
			cmd.SetContext(t.Context())
			o := verifyOptions{truststore: f.truststore, sigPath: f.sigs[tt.sig], appKey: tt.appKey, stale: "warn", requireRevocation: tt.requireRevoc}
			rep := runVerify(cmd, o, pol, grace, f.archive)
			if rep.origin != tt.wantOrigin || rep.accepted != tt.wantAccepted || exitCodeOf(rep) != tt.wantExit {
				t.Fatalf("origin %q accepted %v exit %d (err %v); want %q %v %d",
					rep.origin, rep.accepted, exitCodeOf(rep), rep.err, tt.wantOrigin, tt.wantAccepted, tt.wantExit)
			}
			if tt.wantErr != nil && !errors.Is(rep.err, tt.wantErr) {
				t.Errorf("err = %v, want %v", rep.err, tt.wantErr)
			}
			if tt.wantErr == nil && tt.sig != "missing" && rep.err != nil {
				t.Errorf("err = %v, want none", rep.err)
			}
			// Every verified signature here has no revocation list: warned, unless it became the failure.
			noList := slices.Contains(rep.warnings, verifypolicy.NoRevocationWarning)
			if want := rep.res != nil && rep.err == nil; noList != want {
				t.Errorf("missing-revocation warning %v, want %v (warnings %q)", noList, want, rep.warnings)
			}
		})
	}
}

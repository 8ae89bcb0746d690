package integration

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
)

// policyPKI is a trust store as customers install it (root, marketplace
// CA, private-build CA) and the keys behind it, made with the dev PKI.
type policyPKI struct {
	dir, truststore string
	pki             *chain.DevPKI
	pbCA            *chain.DevIssued
}

func newPolicyPKI(t *testing.T) *policyPKI {
	t.Helper()
	p := &policyPKI{dir: t.TempDir()}
	now := time.Now()
	var err error
	if p.pki, err = chain.EnsureDevPKI(rand.Reader, filepath.Join(p.dir, "dev"), now); err != nil {
		t.Fatal(err)
	}
	if p.pbCA, err = chain.EnsureDevPrivateBuildCA(rand.Reader, filepath.Join(p.dir, "dev"), now); err != nil {
		t.Fatal(err)
	}
	p.truststore = filepath.Join(p.dir, "truststore")
	must(t, chain.WriteTrustStore(p.truststore, chain.BundleFor([]*x509.Certificate{p.pki.Root}, []*x509.Certificate{p.pki.Intermediate, p.pbCA.Cert})))
	return p
}

// writeKeyCert writes key (PKCS#8 PEM, 0600) and certs (PEM) for signerctl sign --key.
func writeKeyCert(t *testing.T, dir, name string, key ed25519.PrivateKey, certs ...*x509.Certificate) (keyPath, certPath string) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	must(t, err)
	keyPath, certPath = filepath.Join(dir, name+".key"), filepath.Join(dir, name+".crt")
	must(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	var b []byte
	for _, c := range certs {
		b = append(b, chain.CertificatePEM(c)...)
	}
	must(t, os.WriteFile(certPath, b, 0o644))
	return keyPath, certPath
}

func loadPKCS8(t *testing.T, path string) ed25519.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	block, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	must(t, err)
	return k.(ed25519.PrivateKey)
}

// TestVerifyPolicyAttacker plays the party that controls the file being
// verified: whatever the file claims, the origin (and so the policy mode)
// comes from what chained to which trust-store CA. Issue 11, finding 2.
func TestVerifyPolicyAttacker(t *testing.T) {
	p := newPolicyPKI(t)
	work := t.TempDir()
	app := writeArchive(t, work, "app.jar", 128<<10, 21)

	t.Run("a random signature file under marketplace=enforce,custom=off", func(t *testing.T) {
		sig := make([]byte, ed25519.SignatureSize)
		_, _ = rand.Read(sig)
		b, _ := json.Marshal(map[string]string{"signature": base64.StdEncoding.EncodeToString(sig)})
		sigPath := filepath.Join(work, "random.sig")
		must(t, os.WriteFile(sigPath, b, 0o644))
		code, rep := verifyJSON(t, "--policy", "marketplace=enforce,custom=off", "--truststore", p.truststore, "--signature", sigPath, app)
		if code == 0 || rep.Accepted || rep.Origin != chain.OriginUnknown {
			t.Fatalf("exit %d, %+v; want refused with origin unknown", code, rep)
		}
		// Every named origin off still does not reach an unverifiable file.
		code, rep = verifyJSON(t, "--policy", "marketplace=off,private-build=off,custom=off", "--truststore", p.truststore, "--signature", sigPath, app)
		if code == 0 || rep.Accepted {
			t.Fatalf("all origins off: exit %d, %+v; want refused", code, rep)
		}
		// Only the explicit grace period for unsigned apps lets it through.
		code, rep = verifyJSON(t, "--policy", "unsigned=warn", "--truststore", p.truststore, "--signature", sigPath, app)
		if code != 0 || !rep.Accepted || rep.Valid || rep.Origin != chain.OriginUnknown {
			t.Fatalf("unsigned=warn: exit %d, %+v; want accepted with a warning", code, rep)
		}
	})

	t.Run("a self-made private-build certificate under a fake CA, private-build=warn", func(t *testing.T) {
		fakeRootKey, fakePBKey, vendorKey := newEd25519(t), newEd25519(t), newEd25519(t)
		now := time.Now()
		fakeRoot, err := chain.NewRootCA(rand.Reader, fakeRootKey, chain.DevRootCN, now, time.Hour)
		must(t, err)
		fakePB, err := chain.NewPrivateBuildCA(rand.Reader, fakeRoot, fakeRootKey, vendorPub(fakePBKey), chain.DevPrivateBuildCN, now, time.Hour)
		must(t, err)
		cert, err := chain.NewPrivateBuildCertificate(rand.Reader, fakePB, fakePBKey, vendorPub(vendorKey), "mallory", []string{"com.example.app"}, now, time.Hour)
		must(t, err)
		key, certPath := writeKeyCert(t, work, "fake", vendorKey, cert)
		_, chainPath := writeKeyCert(t, work, "fake-chain", fakePBKey, fakePB, fakeRoot)
		sigPath := filepath.Join(work, "fake.sig")
		mustSignerctl(t, "sign", "--key", key, "--cert", certPath, "--chain", chainPath, "--out", sigPath, app)
		code, rep := verifyJSON(t, "--policy", "private-build=warn", "--app-key", "com.example.app", "--truststore", p.truststore, "--signature", sigPath, app)
		if code != 4 || rep.Accepted || rep.Origin != chain.OriginUnknown {
			t.Fatalf("exit %d, %+v; want exit 4, refused, origin unknown", code, rep)
		}
	})

	t.Run("a private build verifies only for the app keys it is scoped to", func(t *testing.T) {
		vendorKey := newEd25519(t)
		cert, err := chain.NewPrivateBuildCertificate(rand.Reader, p.pbCA.Cert, loadPKCS8(t, p.pbCA.KeyPath), vendorPub(vendorKey), "acme", []string{"com.acme.app"}, time.Now(), time.Hour)
		must(t, err)
		key, certPath := writeKeyCert(t, work, "acme", vendorKey, cert)
		sigPath := filepath.Join(work, "acme.sig")
		mustSignerctl(t, "sign", "--key", key, "--cert", certPath, "--out", sigPath, app)
		if code, rep := verifyJSON(t, "--app-key", "com.acme.app", "--truststore", p.truststore, "--signature", sigPath, app); code != 0 || rep.Origin != chain.OriginPrivateBuild {
			t.Errorf("own app: exit %d, %+v; want 0, private-build", code, rep)
		}
		if code, rep := verifyJSON(t, "--app-key", "com.globex.app", "--truststore", p.truststore, "--signature", sigPath, app); code != 4 || rep.Cause != "out-of-scope" || rep.Accepted {
			t.Errorf("another vendor's app: exit %d, %+v; want 4 out-of-scope", code, rep)
		}
		// The marketplace mode does not apply to it: it never chained to the marketplace CA.
		if code, rep := verifyJSON(t, "--policy", "marketplace=off", "--app-key", "com.globex.app", "--truststore", p.truststore, "--signature", sigPath, app); code != 4 || rep.Accepted {
			t.Errorf("marketplace=off: exit %d, %+v; want 4", code, rep)
		}
	})

	t.Run("no revocation list: a warning, an error under --require-revocation", func(t *testing.T) {
		sigPath := filepath.Join(work, "market.sig")
		mustSignerctl(t, "sign", "--key", p.pki.SigningKeyPath, "--cert", p.pki.SigningCertPath, "--chain", p.pki.IntermediateCertPath, "--out", sigPath, app)
		code, rep := verifyJSON(t, "--truststore", p.truststore, "--signature", sigPath, app)
		if code != 0 || rep.Origin != chain.OriginMarketplace || !containsPrefix(rep.Warnings, "no revocation list installed") {
			t.Errorf("exit %d, %+v; want 0, marketplace, a missing-revocation warning", code, rep)
		}
		code, rep = verifyJSON(t, "--require-revocation", "--truststore", p.truststore, "--signature", sigPath, app)
		if code != 8 || rep.Accepted || rep.Valid {
			t.Errorf("--require-revocation: exit %d, %+v; want 8", code, rep)
		}
	})
}

func newEd25519(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	return k
}

func vendorPub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func containsPrefix(ss []string, prefix string) bool {
	for _, s := range ss {
		if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}

package bundle

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
)

// TestVerifyRefusesNonBundleSigners re-signs a genuine bundle with keys
// that chain to the trusted root but may not sign bundles, as someone who
// stole an app-signing key or an intermediate CA key would. Export refuses
// to make such bundles, so they are forged here by hand.
func TestVerifyRefusesNonBundleSigners(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rootKey, interKey, leafKey := edKey(t), edKey(t), edKey(t)
	root, err := chain.NewRootCA(rand.Reader, rootKey, "test root CA", now, 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	inter, err := chain.NewIntermediateCA(rand.Reader, root, rootKey, interKey.Public().(ed25519.PublicKey), "test marketplace CA", now, 5*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := chain.NewSigningCertificate(rand.Reader, inter, interKey, leafKey.Public().(ed25519.PublicKey), "test app signing", now, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	signerKey := loadSoftKey(t)
	signerCert, err := NewSignerCertificate(rand.Reader, root, rootKey, signerKey.Public(), "test bundle signer", now, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "genuine")
	if err := Export(t.Context(), dir, Bundle{Version: 1, Roots: []*x509.Certificate{root}, Intermediates: []*x509.Certificate{inter}, SignerCertificate: signerCert}, signerKey, now); err != nil {
		t.Fatal(err)
	}
	trust := Trust{Roots: []*x509.Certificate{root}}
	otherSignerKey := edKey(t)
	otherSigner, err := NewSignerCertificate(rand.Reader, root, rootKey, otherSignerKey.Public().(ed25519.PublicKey), "test bundle signer 2", now, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		key  ed25519.PrivateKey
		cert *x509.Certificate
		want string
	}{
		{"another bundle-signing key (control)", otherSignerKey, otherSigner, ""},
		{"app-signing key", leafKey, leaf, "policy"},
		{"intermediate CA key", interKey, inter, "CA certificate but not a trusted root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forged := filepath.Join(t.TempDir(), "forged")
			if err := os.CopyFS(forged, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			resign(t, forged, tt.key, tt.cert)
			_, err := Verify(forged, trust, now)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("re-signed by an authorized key: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Verify = %v, want ErrUntrusted saying %q", err, tt.want)
			}
		})
	}
}

func edKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func loadSoftKey(t *testing.T) kms.Signer {
	t.Helper()
	b := softkms.New(softkms.Options{Dir: t.TempDir()})
	uri, err := b.CreateKey(t.Context(), kms.CreateKeyRequest{Name: "bundle-signer"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.LoadSigner(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// resign makes dir a consistent bundle signed by key with certificate
// cert: new manifest-signer.pem, manifest entry, signature and sums.
func resign(t *testing.T, dir string, key ed25519.PrivateKey, cert *x509.Certificate) {
	t.Helper()
	write := func(name string, data []byte) {
		_ = os.Chmod(filepath.Join(dir, name), 0o644)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := parseManifest(mustRead(t, filepath.Join(dir, ManifestFile)))
	if err != nil {
		t.Fatal(err)
	}
	signerPEM := chain.CertificatePEM(cert)
	write(SignerFile, signerPEM)
	entry, err := describe(RoleSigner, signerPEM)
	if err != nil {
		t.Fatal(err)
	}
	m.ValidUntil = entry.NotAfter
	for i, f := range m.Files {
		if f.Role == RoleSigner {
			m.Files[i] = entry
		} else if isCertRole(f.Role) && f.NotAfter.Before(m.ValidUntil) {
			m.ValidUntil = f.NotAfter
		}
	}
	manifest, err := encodeManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	write(ManifestFile, manifest)
	write(SignatureFile, ed25519.Sign(key, manifest))
	s256, s512 := make(map[string]string), make(map[string]string)
	for _, name := range append([]string{ManifestFile, SignatureFile}, fileNames(m)...) {
		s256[name], s512[name] = fileDigests(mustRead(t, filepath.Join(dir, name)))
	}
	write(SHA256SumsFile, encodeSums(s256))
	write(SHA512SumsFile, encodeSums(s512))
}

func fileNames(m *Manifest) []string {
	var out []string
	for _, f := range m.Files {
		out = append(out, f.Name)
	}
	return out
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

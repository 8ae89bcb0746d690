package keystore_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
)

// devKey returns the dev PKI's signing key URI and certificate, as
// `signer dev` would import them.
func devKey(t *testing.T) (kms.URI, *chain.DevPKI) {
	t.Helper()
	pki, err := chain.EnsureDevPKI(rand.Reader, t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return kms.NewURI(softkms.Scheme, map[string]string{"path": pki.SigningKeyPath}), pki
}

func TestImport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.store(t, keystore.Options{})
	ctx := t.Context()
	uri, pki := devKey(t)

	v1, err := s.Import(ctx, "dev-signing", keystore.RoleArchiveSigning, uri, pki.Signing, actor)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if v1.Version != 1 || v1.State != keystore.StateActive || !v1.Cert.Equal(pki.Signing) || v1.BackendURI.String() != uri.String() {
		t.Errorf("Import = %+v", v1)
	}
	l, err := s.Active(ctx, "dev-signing")
	if err != nil {
		t.Fatal(err)
	}
	mustSign(t, l, []byte("dev archive"))

	// At every start: nothing new.
	again, err := e.replica(t).Import(ctx, "dev-signing", keystore.RoleArchiveSigning, uri, pki.Signing, "signer dev")
	if err != nil || again.Version != 1 || !again.ActivatedAt.Equal(v1.ActivatedAt) {
		t.Errorf("identical Import = v%d, %v; want v1 unchanged", again.Version, err)
	}
	if evs, err := s.Events(ctx, "dev-signing"); err != nil || len(evs) != 1 || evs[0].Kind != keystore.EventImported {
		t.Errorf("events after identical import: %+v, %v; want one imported event", evs, err)
	}

	// The dev PKI re-issued the certificate for the same key: a new version.
	pub := pki.SigningKey.Public().(ed25519.PublicKey)
	renewed, err := e.ca.IssueSigningCert(ctx, "dev-signing", pub, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	v2, err := s.Import(ctx, "dev-signing", keystore.RoleArchiveSigning, uri, renewed, actor)
	if err != nil || v2.Version != 2 || !v2.Cert.Equal(renewed) {
		t.Fatalf("Import with a renewed certificate = v%d, %v; want v2", v2.Version, err)
	}
	if l, err := s.Active(ctx, "dev-signing"); err != nil || l.Version.Version != 2 || !l.Cert.Equal(renewed) {
		t.Errorf("Active = %v, %v; want v2 with the renewed certificate", l, err)
	}
	if old, err := s.Lookup(ctx, "dev-signing", 1); err != nil || !old.Cert.Equal(pki.Signing) || old.State != keystore.StateRetired {
		t.Errorf("Lookup v1 = %v, %v; want the original certificate, retired", old, err)
	}

	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	otherCert, err := e.ca.IssueSigningCert(ctx, "x", otherKey.Public().(ed25519.PublicKey), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	expired, err := chain.NewSigningCertificate(rand.Reader, e.ca.inter, e.ca.interKey, pub, "old", time.Now().Add(-3*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  string
		role keystore.Role
		uri  kms.URI
		cert *x509.Certificate
		want error
	}{
		{"other role", "dev-signing", keystore.RoleLedger, uri, nil, keystore.ErrExists},
		{"archive key without certificate", "new-key", keystore.RoleArchiveSigning, uri, nil, keystore.ErrInvalidRequest},
		{"certificate of another key", "new-key", keystore.RoleArchiveSigning, uri, otherCert, keystore.ErrKeyMismatch},
		{"expired certificate", "new-key", keystore.RoleArchiveSigning, uri, expired, keystore.ErrUnsuitableKey},
		{"missing backend key", "new-key", keystore.RoleLedger, kms.NewURI(softkms.Scheme, map[string]string{"path": filepath.Join(t.TempDir(), "none.key")}), nil, kms.ErrKeyNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Import(ctx, tt.key, tt.role, tt.uri, tt.cert, actor)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Import: %v, want %v", err, tt.want)
			}
		})
	}
	if !exists(pki.SigningKeyPath) {
		t.Error("a failed Import destroyed the imported key")
	}
	if _, destroyed := e.soft.counts(); len(destroyed) != 0 {
		t.Errorf("destroyed %v; imported keys are never destroyed", destroyed)
	}
	if _, err := s.Get(ctx, "new-key"); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("a failed Import left key new-key: %v", err)
	}

	// A CA key has no certificate of its own in the store.
	caURI := kms.NewURI(softkms.Scheme, map[string]string{"path": filepath.Join(filepath.Dir(pki.SigningKeyPath), "marketplace-ca.key")})
	if v, err := s.Import(ctx, "dev-marketplace-ca", keystore.RoleCA, caURI, nil, actor); err != nil || v.Cert != nil {
		t.Errorf("Import CA key = %+v, %v", v, err)
	}
}

// Replicas starting at once all import the dev key: one version, no error.
func TestImportConcurrently(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	uri, pki := devKey(t)
	const replicas = 4
	errs := make([]error, replicas)
	versions := make([]int32, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		s := e.replica(t)
		wg.Go(func() {
			v, err := s.Import(t.Context(), "dev-signing", keystore.RoleArchiveSigning, uri, pki.Signing, "signer dev")
			errs[i], versions[i] = err, v.Version
		})
	}
	wg.Wait()
	for i := range replicas {
		if errs[i] != nil || versions[i] != 1 {
			t.Errorf("replica %d: v%d, %v; want v1", i, versions[i], errs[i])
		}
	}
	k, err := e.replica(t).Get(t.Context(), "dev-signing")
	if err != nil || states(k) != "v1:active" {
		t.Errorf("versions %s, %v; want v1:active", states(k), err)
	}
}

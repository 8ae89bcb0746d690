package keystore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
)

func TestCreateGetList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.store(t, keystore.Options{})
	ctx := t.Context()

	sign, err := s.Create(ctx, "marketplace-signing", keystore.RoleArchiveSigning, soft, actor)
	if err != nil {
		t.Fatalf("Create archive-signing: %v", err)
	}
	if sign.Version != 1 || sign.State != keystore.StateActive || sign.Cert == nil || sign.RetiredAt != nil || sign.Actor != actor {
		t.Errorf("Create = %+v, want version 1, active, with certificate, by %s", sign, actor)
	}
	e.ca.verifyChain(t, sign.Cert)
	if sign.BackendURI.Scheme != softkms.Scheme || !strings.Contains(sign.BackendURI.Get("path"), "marketplace-signing-") {
		t.Errorf("backend URI %s: want a softkms key named after the key", sign.BackendURI)
	}
	ledgerKey, err := s.Create(ctx, "ledger-checkpoints", keystore.RoleLedger, soft, actor)
	if err != nil {
		t.Fatalf("Create ledger: %v", err)
	}
	if ledgerKey.Cert != nil {
		t.Errorf("ledger key has a certificate %x; only archive-signing keys get one", ledgerKey.Cert.SerialNumber)
	}

	k, err := s.Get(ctx, "marketplace-signing")
	if err != nil {
		t.Fatal(err)
	}
	if k.Role != keystore.RoleArchiveSigning || k.CreatedBy != actor || states(k) != "v1:active" {
		t.Errorf("Get = role %s by %s, %s", k.Role, k.CreatedBy, states(k))
	}
	if a := k.Active(); a == nil || !a.PublicKey.Equal(sign.PublicKey) || !a.Cert.Equal(sign.Cert) ||
		!a.CreatedAt.Equal(sign.CreatedAt) || !a.ActivatedAt.Equal(sign.ActivatedAt) || a.BackendURI.String() != sign.BackendURI.String() {
		t.Errorf("Get's active version %+v differs from Create's %+v", a, sign)
	}

	keys, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Name != "ledger-checkpoints" || keys[1].Name != "marketplace-signing" ||
		len(keys[0].Versions) != 1 || len(keys[1].Versions) != 1 {
		t.Errorf("List = %+v, want both keys by name, one version each", keys)
	}

	l, err := s.Active(ctx, "marketplace-signing")
	if err != nil {
		t.Fatal(err)
	}
	if l.Version.Version != 1 || !l.Signer.Public().Equal(sign.PublicKey) {
		t.Errorf("Active = v%d %x, want v1 %x", l.Version.Version, l.Signer.Public(), sign.PublicKey)
	}
	mustSign(t, l, []byte("archive bytes"))

	evs, err := s.Events(ctx, "marketplace-signing")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Kind != keystore.EventCreated || evs[0].Version != 1 || evs[0].Actor != actor ||
		evs[0].Detail.CertSerial != sign.Cert.SerialNumber.Text(16) || evs[0].Detail.BackendURI != sign.BackendURI.String() {
		t.Errorf("Events = %+v, want one created event for v1 with its certificate", evs)
	}

	if _, err := s.Create(ctx, "marketplace-signing", keystore.RoleArchiveSigning, soft, actor); !errors.Is(err, keystore.ErrExists) {
		t.Errorf("Create of an existing key: %v, want ErrExists", err)
	}
	if _, err := s.Get(ctx, "no-such-key"); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("Get(no-such-key): %v, want ErrNotFound", err)
	}
	if _, err := s.Active(ctx, "no-such-key"); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("Active(no-such-key): %v, want ErrNotFound", err)
	}
}

func TestCreateRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	limited := &faultBackend{Backend: softkms.New(softkms.Options{Dir: t.TempDir()}), maxMessage: 4096}
	limited.Backend = &renamed{Backend: limited.Backend, scheme: "limitedkms"}
	if err := e.reg.Register(limited); err != nil {
		t.Fatal(err)
	}
	noIssuer := keystore.New(e.pool, e.reg, nil, keystore.Options{})
	t.Cleanup(func() { _ = noIssuer.Close() })
	s := e.store(t, keystore.Options{})

	tests := []struct {
		name    string
		store   *keystore.Store
		key     string
		role    keystore.Role
		backend keystore.BackendSpec
		actor   string
		want    error
	}{
		{"upper-case name", s, "Signing", keystore.RoleCA, soft, actor, keystore.ErrInvalidRequest},
		{"one-letter name", s, "s", keystore.RoleCA, soft, actor, keystore.ErrInvalidRequest},
		{"name with dot", s, "a.b", keystore.RoleCA, soft, actor, keystore.ErrInvalidRequest},
		{"64-byte name", s, "a" + strings.Repeat("b", 63), keystore.RoleCA, soft, actor, keystore.ErrInvalidRequest},
		{"unknown role", s, "some-key", "tls", soft, actor, keystore.ErrInvalidRequest},
		{"no actor", s, "some-key", keystore.RoleCA, soft, "", keystore.ErrInvalidRequest},
		{"actor with newline", s, "some-key", keystore.RoleCA, soft, "eve\nforged log line", keystore.ErrInvalidRequest},
		{"unknown backend", s, "some-key", keystore.RoleCA, keystore.BackendSpec{Scheme: "nokms"}, actor, kms.ErrUnknownBackend},
		{"archive key that cannot sign archives", s, "some-key", keystore.RoleArchiveSigning, keystore.BackendSpec{Scheme: "limitedkms"}, actor, keystore.ErrUnsuitableKey},
		{"archive key without issuer", noIssuer, "some-key", keystore.RoleArchiveSigning, soft, actor, keystore.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.store.Create(t.Context(), tt.key, tt.role, tt.backend, tt.actor)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Create: %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), "forged") {
				t.Errorf("error echoes the actor: %v", err)
			}
		})
	}
	if keys, err := s.List(t.Context()); err != nil || len(keys) != 0 {
		t.Errorf("List after rejected creates = %v, %v; want none", keys, err)
	}
	if files := e.keyFiles(t); len(files) != 0 {
		t.Errorf("key files left behind: %v", files)
	}
	created, destroyed := limited.counts()
	if len(created) != 1 || len(destroyed) != 1 || created[0].String() != destroyed[0].String() {
		t.Errorf("unsuitable backend: created %v, destroyed %v; want the one key destroyed", created, destroyed)
	}
}

// renamed gives a backend another scheme, so a test can register a second
// software backend.
type renamed struct {
	kms.Backend
	scheme string
}

func (r *renamed) Scheme() string { return r.scheme }

func (r *renamed) CreateKey(ctx context.Context, req kms.CreateKeyRequest) (kms.URI, error) {
	uri, err := r.Backend.(kms.KeyCreator).CreateKey(ctx, req)
	return kms.NewURI(r.scheme, map[string]string{"path": uri.Get("path")}), err
}

func (r *renamed) DestroyKey(ctx context.Context, uri kms.URI) error {
	return r.Backend.(kms.KeyDestroyer).DestroyKey(ctx, kms.NewURI(softkms.Scheme, map[string]string{"path": uri.Get("path")}))
}

func (r *renamed) LoadSigner(ctx context.Context, uri kms.URI) (kms.Signer, error) {
	return r.Backend.LoadSigner(ctx, kms.NewURI(softkms.Scheme, map[string]string{"path": uri.Get("path")}))
}

// Two replicas creating the same key at once: one wins, the other gets
// ErrExists and its backend key is destroyed.
func TestCreateConcurrently(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	stores := []*keystore.Store{e.replica(t), e.replica(t), e.replica(t)}
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			_, errs[i] = s.Create(t.Context(), "marketplace-signing", keystore.RoleArchiveSigning, soft, actor)
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, keystore.ErrExists):
			t.Errorf("store %d: %v, want nil or ErrExists", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d creates succeeded, want 1", won)
	}
	k, err := stores[0].Get(t.Context(), "marketplace-signing")
	if err != nil || states(k) != "v1:active" {
		t.Fatalf("Get = %s, %v; want v1:active", states(k), err)
	}
	if files := e.keyFiles(t); len(files) != 1 || files[0] != k.Versions[0].BackendURI.Get("path") {
		t.Errorf("key files %v, want only the winner's %s", files, k.Versions[0].BackendURI.Get("path"))
	}
}

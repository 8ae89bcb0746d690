package keystore_test

import (
	"errors"
	"testing"

	"github.com/appsign/signer/internal/keystore"
)

func TestRetire(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.store(t, keystore.Options{})
	ctx := t.Context()
	v1, err := s.Create(ctx, "marketplace-signing", keystore.RoleArchiveSigning, soft, actor)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Retire(ctx, "marketplace-signing", 1, actor); !errors.Is(err, keystore.ErrActiveVersion) {
		t.Fatalf("Retire of the only active version: %v, want ErrActiveVersion", err)
	}
	if l, err := s.Active(ctx, "marketplace-signing"); err != nil || l.Version.Version != 1 {
		t.Fatalf("Active after refused Retire = %v, %v; want v1", l, err)
	}
	if _, err := s.Rotate(ctx, "marketplace-signing", soft, actor); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		version int32
		want    error
	}{
		{"retired version (no-op)", 1, nil},
		{"again", 1, nil},
		{"active version", 2, keystore.ErrActiveVersion},
		{"unknown version", 9, keystore.ErrNotFound},
		{"version 0", 0, keystore.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Retire(ctx, "marketplace-signing", tt.version, actor); !errors.Is(err, tt.want) {
				t.Fatalf("Retire(v%d): %v, want %v", tt.version, err, tt.want)
			}
		})
	}

	// Active is unaffected; the retired version still looks up and signs
	// (replays, verification).
	a, err := s.Active(ctx, "marketplace-signing")
	if err != nil || a.Version.Version != 2 {
		t.Fatalf("Active = %v, %v; want v2", a, err)
	}
	old, err := s.Lookup(ctx, "marketplace-signing", 1)
	if err != nil {
		t.Fatalf("Lookup v1: %v", err)
	}
	if old.State != keystore.StateRetired || !old.PublicKey.Equal(v1.PublicKey) {
		t.Errorf("Lookup v1 = %s %x, want retired %x", old.State, old.PublicKey, v1.PublicKey)
	}
	mustSign(t, old, []byte("replayed request"))
	// A replica that never loaded v1 can look it up too.
	if old2, err := e.replica(t).Lookup(ctx, "marketplace-signing", 1); err != nil || !old2.Cert.Equal(v1.Cert) {
		t.Errorf("replica Lookup v1 = %v, %v", old2, err)
	}
	if _, err := s.Lookup(ctx, "marketplace-signing", 7); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("Lookup v7: %v, want ErrNotFound", err)
	}
	if evs, err := s.Events(ctx, "marketplace-signing"); err != nil || len(evs) != 3 {
		t.Errorf("events: %d, %v; want 3 (Retire of a retired version records nothing)", len(evs), err)
	}
}

// Revocation is not an operation of this package yet, but the read side
// honours it: a revoked version is neither active nor looked up, once
// Refresh has seen it.
func TestRevokedVersions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.store(t, keystore.Options{})
	ctx := t.Context()
	if _, err := s.Create(ctx, "marketplace-signing", keystore.RoleArchiveSigning, soft, actor); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rotate(ctx, "marketplace-signing", soft, actor); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup(ctx, "marketplace-signing", 1); err != nil {
		t.Fatal(err)
	}
	exec(t, e, `UPDATE key_versions SET state = 'revoked' WHERE name = 'marketplace-signing' AND version = 1`)
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup(ctx, "marketplace-signing", 1); !errors.Is(err, keystore.ErrRevoked) {
		t.Errorf("Lookup of revoked v1: %v, want ErrRevoked", err)
	}
	if _, err := e.replica(t).Lookup(ctx, "marketplace-signing", 1); !errors.Is(err, keystore.ErrRevoked) {
		t.Errorf("replica Lookup of revoked v1: %v, want ErrRevoked", err)
	}
	if err := s.Retire(ctx, "marketplace-signing", 1, actor); !errors.Is(err, keystore.ErrRevoked) {
		t.Errorf("Retire of revoked v1: %v, want ErrRevoked", err)
	}
	// Revoking the active version leaves the key without one: no fallback
	// to an older version.
	exec(t, e, `UPDATE key_versions SET state = 'revoked', retired_at = now() WHERE name = 'marketplace-signing' AND version = 2`)
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Active(ctx, "marketplace-signing"); !errors.Is(err, keystore.ErrNoActiveVersion) {
		t.Errorf("Active with the active version revoked: %v, want ErrNoActiveVersion", err)
	}
	// Rotation needs the backend named when there is no active version.
	if _, err := s.Rotate(ctx, "marketplace-signing", keystore.BackendSpec{}, actor); !errors.Is(err, keystore.ErrNoActiveVersion) {
		t.Errorf("Rotate with no active version and no backend: %v, want ErrNoActiveVersion", err)
	}
	v3, err := s.Rotate(ctx, "marketplace-signing", soft, actor)
	if err != nil || v3.Version != 3 {
		t.Fatalf("Rotate after revocation = v%d, %v; want v3", v3.Version, err)
	}
	if l, err := s.Active(ctx, "marketplace-signing"); err != nil || l.Version.Version != 3 {
		t.Errorf("Active = %v, %v; want v3", l, err)
	}
}

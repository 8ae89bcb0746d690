package keystore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/keystore"
)

// TestRevokeTx: a revocation marks retired versions revoked in its own
// transaction, with a logged key event; it refuses the active version
// (rotate first) and leaves everything as it was; a rollback revokes
// nothing; a revoked backend key cannot come back by import; a replica
// drops the revoked version on Refresh.
func TestRevokeTx(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var logged []keystore.Event
	s := e.store(t, keystore.Options{OnEvent: func(_ context.Context, _ pgx.Tx, ev keystore.Event) error {
		logged = append(logged, ev)
		return nil
	}})
	ctx := t.Context()
	uri, pki := devKey(t)
	if _, err := s.Import(ctx, "dev-signing", keystore.RoleArchiveSigning, uri, pki.Signing, actor); err != nil {
		t.Fatal(err)
	}
	replica := e.replica(t)
	if _, err := replica.Lookup(ctx, "dev-signing", 1); err != nil {
		t.Fatal(err)
	}
	info := keystore.RevokeInfo{RevocationID: 7, Reason: "key-compromise", EffectiveFrom: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Actor: actor}
	revoke := func(refs ...keystore.VersionRef) error {
		return pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error { return s.RevokeTx(ctx, tx, refs, info) })
	}

	err := revoke(keystore.VersionRef{Name: "dev-signing", Version: 1})
	var av *keystore.ActiveVersionError
	if !errors.Is(err, keystore.ErrActiveVersion) || !errors.As(err, &av) || av.Name != "dev-signing" || av.Version != 1 {
		t.Fatalf("revoke the active version: %v, want ActiveVersionError for dev-signing v1", err)
	}
	if k, _ := s.Get(ctx, "dev-signing"); states(k) != "v1:active" {
		t.Errorf("after the refusal: %s, want v1:active", states(k))
	}

	if _, err := s.Rotate(ctx, "dev-signing", soft, actor); err != nil {
		t.Fatal(err)
	}
	// Rolled back with the revocation: nothing changes.
	errAbort := errors.New("revocation aborted")
	err = pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		if err := s.RevokeTx(ctx, tx, []keystore.VersionRef{{Name: "dev-signing", Version: 1}}, info); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatal(err)
	}
	if k, _ := s.Get(ctx, "dev-signing"); states(k) != "v1:retired v2:active" {
		t.Errorf("after a rolled-back revocation: %s, want v1:retired v2:active", states(k))
	}

	logged = nil
	if err := revoke(keystore.VersionRef{Name: "dev-signing", Version: 1}, keystore.VersionRef{Name: "dev-signing", Version: 1}); err != nil {
		t.Fatalf("revoke the retired version: %v", err)
	}
	if k, _ := s.Get(ctx, "dev-signing"); states(k) != "v1:revoked v2:active" {
		t.Errorf("after the revocation: %s, want v1:revoked v2:active", states(k))
	}
	if len(logged) != 1 || logged[0].Kind != keystore.EventRevoked || logged[0].Version != 1 ||
		logged[0].Detail.RevocationID != 7 || logged[0].Detail.Reason != "key-compromise" || logged[0].Detail.EffectiveFrom != "2026-01-02T03:04:05Z" {
		t.Errorf("logged events: %+v, want one revoked event for v1 naming revocation 7", logged)
	}
	// Again: already revoked, nothing written.
	logged = nil
	if err := revoke(keystore.VersionRef{Name: "dev-signing", Version: 1}); err != nil || len(logged) != 0 {
		t.Errorf("revoke again: %v, %d events; want nil, 0", err, len(logged))
	}

	// The replica that had v1 loaded drops it on Refresh.
	if err := replica.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := replica.Lookup(ctx, "dev-signing", 1); !errors.Is(err, keystore.ErrRevoked) {
		t.Errorf("replica Lookup of the revoked version after Refresh: %v, want ErrRevoked", err)
	}

	// signer dev imports its key at every start: a revoked key stays out.
	if _, err := s.Import(ctx, "dev-signing", keystore.RoleArchiveSigning, uri, pki.Signing, "signer dev"); !errors.Is(err, keystore.ErrRevoked) {
		t.Errorf("import of the revoked key: %v, want ErrRevoked", err)
	}
	if _, err := s.Import(ctx, "other-signing", keystore.RoleArchiveSigning, uri, pki.Signing, "signer dev"); !errors.Is(err, keystore.ErrRevoked) {
		t.Errorf("import of the revoked key under another name: %v, want ErrRevoked", err)
	}
	if k, _ := s.Get(ctx, "dev-signing"); states(k) != "v1:revoked v2:active" {
		t.Errorf("after the refused imports: %s, want v1:revoked v2:active", states(k))
	}
}

package keystore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/appsign/signer/internal/keystore"
)

// A replica that loaded a key sees another replica's rotation after
// Refresh, and its view of the retired version is updated too.
func TestReplicaRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.replica(t), e.replica(t)
	ctx := t.Context()
	if _, err := a.Create(ctx, "marketplace-signing", keystore.RoleArchiveSigning, soft, actor); err != nil {
		t.Fatal(err)
	}
	before, err := b.Active(ctx, "marketplace-signing")
	if err != nil || before.Version.Version != 1 {
		t.Fatalf("replica Active = %v, %v; want v1", before, err)
	}
	v2, err := a.Rotate(ctx, "marketplace-signing", soft, actor)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	after, err := b.Active(ctx, "marketplace-signing")
	if err != nil || after.Version.Version != 2 || !after.PublicKey.Equal(v2.PublicKey) || !after.Cert.Equal(v2.Cert) {
		t.Fatalf("replica Active after Refresh = %v, %v; want v2", after, err)
	}
	mustSign(t, after, []byte("signed by the replica with v2"))
	old, err := b.Lookup(ctx, "marketplace-signing", 1)
	if err != nil || old.State != keystore.StateRetired || old.RetiredAt == nil || old.Signer != before.Signer {
		t.Errorf("replica Lookup v1 after Refresh = %+v, %v; want v1 retired, same signer", old, err)
	}
	// The Loaded the replica handed out before is unchanged: requests in
	// flight keep a consistent key and certificate.
	if before.Version.Version != 1 || before.State != keystore.StateActive {
		t.Errorf("an earlier Active result changed: v%d %s", before.Version.Version, before.State)
	}
	if err := b.Refresh(ctx); err != nil {
		t.Errorf("second Refresh: %v", err)
	}
}

// Watch delivers rotations made elsewhere without polling: the interval is
// an hour, so only the notification can bring the change.
func TestReplicaWatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.replica(t), e.replica(t)
	ctx := t.Context()
	if _, err := a.Create(ctx, "marketplace-signing", keystore.RoleArchiveSigning, soft, actor); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Active(ctx, "marketplace-signing"); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); b.Watch(wctx, time.Hour) }()
	defer func() { cancel(); <-done }()

	for want := int32(2); want <= 3; want++ {
		if _, err := a.Rotate(ctx, "marketplace-signing", soft, actor); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			l, err := b.Active(ctx, "marketplace-signing")
			if err != nil {
				t.Fatal(err)
			}
			if l.Version.Version == want {
				mustSign(t, l, []byte("after watch"))
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica still on v%d 10s after the rotation to v%d", l.Version.Version, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not return after its context was cancelled")
	}
	if len(e.logs.lines) != 0 {
		t.Errorf("logged: %q", e.logs.lines)
	}
}

// Watch stops when the Store is closed.
func TestWatchStopsOnClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := keystore.New(e.pool, e.reg, e.ca, keystore.Options{Log: e.logs.logger()})
	if _, err := s.Create(t.Context(), "ledger-key", keystore.RoleLedger, soft, actor); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Active(t.Context(), "ledger-key"); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); s.Watch(t.Context(), 20*time.Millisecond) }()
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Watch still running after Close")
	}
	if _, err := s.Active(t.Context(), "ledger-key"); !errors.Is(err, keystore.ErrClosed) {
		t.Errorf("Active after Close: %v, want ErrClosed", err)
	}
}

package keystore_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
)

func TestRotateTwice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var hooked []keystore.Event
	s := e.store(t, keystore.Options{OnEvent: func(ctx context.Context, tx pgx.Tx, ev keystore.Event) error {
		// The hook runs inside the transaction that wrote the change.
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM key_events WHERE id = $1`, ev.ID).Scan(&n); err != nil || n != 1 {
			return fmt.Errorf("event %d not visible in the hook's transaction: %d, %v", ev.ID, n, err)
		}
		hooked = append(hooked, ev)
		return nil
	}})
	ctx := t.Context()
	v1, err := s.Create(ctx, "marketplace-signing", keystore.RoleArchiveSigning, soft, actor)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := s.Rotate(ctx, "marketplace-signing", soft, "bob@security")
	if err != nil {
		t.Fatalf("first Rotate: %v", err)
	}
	// An empty backend means the active version's.
	v3, err := s.Rotate(ctx, "marketplace-signing", keystore.BackendSpec{}, "carol@security")
	if err != nil {
		t.Fatalf("second Rotate: %v", err)
	}
	if v2.Version != 2 || v3.Version != 3 || v3.State != keystore.StateActive {
		t.Errorf("rotations gave v%d and v%d (%s), want v2 and v3 active", v2.Version, v3.Version, v3.State)
	}
	if v1.PublicKey.Equal(v2.PublicKey) || v2.PublicKey.Equal(v3.PublicKey) || v2.BackendURI.String() == v3.BackendURI.String() {
		t.Error("a rotation reused a key")
	}
	e.ca.verifyChain(t, v3.Cert)

	k, err := s.Get(ctx, "marketplace-signing")
	if err != nil {
		t.Fatal(err)
	}
	if got := states(k); got != "v1:retired v2:retired v3:active" {
		t.Errorf("versions: %s, want v1:retired v2:retired v3:active", got)
	}
	if r := k.Versions[0].RetiredAt; r == nil || r.Before(k.Versions[0].ActivatedAt) || !k.Versions[1].ActivatedAt.Equal(*r) {
		t.Errorf("v1 retired at %v, v2 activated at %v: want the same instant", r, k.Versions[1].ActivatedAt)
	}

	evs, err := s.Events(ctx, "marketplace-signing")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind      keystore.EventKind
		version   int32
		actor     string
		replaces  int32
		replacedB int32
	}{
		{keystore.EventCreated, 1, actor, 0, 0},
		{keystore.EventRetired, 1, "bob@security", 0, 2},
		{keystore.EventRotated, 2, "bob@security", 1, 0},
		{keystore.EventRetired, 2, "carol@security", 0, 3},
		{keystore.EventRotated, 3, "carol@security", 2, 0},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		ev := evs[i]
		if ev.Kind != w.kind || ev.Version != w.version || ev.Actor != w.actor || ev.Detail.Replaces != w.replaces || ev.Detail.ReplacedBy != w.replacedB {
			t.Errorf("event %d = %+v, want %+v", i, ev, w)
		}
		if i > 0 && ev.ID <= evs[i-1].ID {
			t.Errorf("event ids not increasing: %d after %d", ev.ID, evs[i-1].ID)
		}
	}
	if len(hooked) != len(evs) {
		t.Fatalf("OnEvent saw %d events, want %d", len(hooked), len(evs))
	}
	for i := range evs {
		if hooked[i].ID != evs[i].ID || hooked[i].Kind != evs[i].Kind || hooked[i].Detail != evs[i].Detail {
			t.Errorf("OnEvent event %d = %+v, stored %+v", i, hooked[i], evs[i])
		}
	}

	l, err := s.Active(ctx, "marketplace-signing")
	if err != nil || l.Version.Version != 3 {
		t.Fatalf("Active = %v, %v; want v3", l, err)
	}
	mustSign(t, l, []byte("after two rotations"))
	old, err := s.Lookup(ctx, "marketplace-signing", 1)
	if err != nil {
		t.Fatalf("Lookup v1: %v", err)
	}
	if old.State != keystore.StateRetired || !old.Signer.Public().Equal(v1.PublicKey) || !old.Cert.Equal(v1.Cert) {
		t.Errorf("Lookup v1 = %s, key %x; want retired with v1's key and certificate", old.State, old.Signer.Public())
	}
	if _, err := s.Rotate(ctx, "no-such-key", soft, actor); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("Rotate(no-such-key): %v, want ErrNotFound", err)
	}
	if _, err := s.Rotate(ctx, "marketplace-signing", soft, ""); !errors.Is(err, keystore.ErrInvalidRequest) {
		t.Errorf("Rotate without actor: %v, want ErrInvalidRequest", err)
	}
}

// A rotation that fails at any step before its commit leaves the old
// version active, no rows, and no backend key behind.
func TestRotateFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// inject arranges the fault; undo removes it.
		inject, undo func(t *testing.T, e *env)
		hook         error // returned by OnEvent for rotated events
		want         error
		// madeKey is whether the backend key got created (and so must be destroyed).
		madeKey bool
	}{
		{
			name:   "backend create fails",
			inject: func(t *testing.T, e *env) { e.soft.set(func(f *faultBackend) { f.failCreate = errInjected }) },
			undo:   func(t *testing.T, e *env) { e.soft.set(func(f *faultBackend) { f.failCreate = nil }) },
			want:   errInjected,
		},
		{
			name:    "new key does not load",
			inject:  func(t *testing.T, e *env) { e.soft.set(func(f *faultBackend) { f.failLoad = kms.ErrUnavailable }) },
			undo:    func(t *testing.T, e *env) { e.soft.set(func(f *faultBackend) { f.failLoad = nil }) },
			want:    kms.ErrUnavailable,
			madeKey: true,
		},
		{
			name:    "test signature does not verify",
			inject:  func(t *testing.T, e *env) { e.soft.set(func(f *faultBackend) { f.badSig = true }) },
			undo:    func(t *testing.T, e *env) { e.soft.set(func(f *faultBackend) { f.badSig = false }) },
			want:    kms.ErrBackendFault,
			madeKey: true,
		},
		{
			name:    "issuer fails",
			inject:  func(t *testing.T, e *env) { e.ca.set(func(ca *testCA) { ca.fail = errInjected }) },
			undo:    func(t *testing.T, e *env) { e.ca.set(func(ca *testCA) { ca.fail = nil }) },
			want:    errInjected,
			madeKey: true,
		},
		{
			name:    "issuer certifies another key",
			inject:  func(t *testing.T, e *env) { e.ca.set(func(ca *testCA) { ca.wrongKey = true }) },
			undo:    func(t *testing.T, e *env) { e.ca.set(func(ca *testCA) { ca.wrongKey = false }) },
			want:    keystore.ErrKeyMismatch,
			madeKey: true,
		},
		{
			name:    "event hook fails inside the transaction",
			hook:    errInjected,
			want:    errInjected,
			madeKey: true,
		},
		{
			name: "commit fails",
			// A deferred constraint trigger raises at COMMIT, after every
			// statement of the transaction succeeded.
			inject: func(t *testing.T, e *env) {
				exec(t, e, `CREATE FUNCTION test_fail_commit() RETURNS trigger LANGUAGE plpgsql AS
					$$ BEGIN RAISE EXCEPTION 'injected commit failure'; END $$`)
				exec(t, e, `CREATE CONSTRAINT TRIGGER test_fail_commit AFTER INSERT ON key_versions
					DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_fail_commit()`)
			},
			undo:    func(t *testing.T, e *env) { exec(t, e, `DROP TRIGGER test_fail_commit ON key_versions`) },
			want:    nil, // a *pgconn.PgError from COMMIT; checked by message below
			madeKey: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			var failHook atomic.Bool
			s := e.store(t, keystore.Options{OnEvent: func(ctx context.Context, tx pgx.Tx, ev keystore.Event) error {
				if failHook.Load() && ev.Kind == keystore.EventRotated {
					return tt.hook
				}
				return nil
			}})
			ctx := t.Context()
			v1, err := s.Create(ctx, "marketplace-signing", keystore.RoleArchiveSigning, soft, actor)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Active(ctx, "marketplace-signing"); err != nil {
				t.Fatal(err)
			}
			if tt.inject != nil {
				tt.inject(t, e)
			}
			failHook.Store(tt.hook != nil)
			createdBefore, _ := e.soft.counts()

			_, err = s.Rotate(ctx, "marketplace-signing", soft, actor)
			switch {
			case err == nil:
				t.Fatal("Rotate succeeded despite the fault")
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("Rotate: %v, want %v", err, tt.want)
			case tt.want == nil && !strings.Contains(err.Error(), "injected commit failure"):
				t.Fatalf("Rotate: %v, want the commit's failure", err)
			}
			t.Logf("Rotate: %v", err)

			// The old version is still the active one, here and for a fresh replica.
			for name, st := range map[string]*keystore.Store{"same store": s, "fresh replica": e.replica(t)} {
				l, err := st.Active(ctx, "marketplace-signing")
				if err != nil || l.Version.Version != 1 || !l.PublicKey.Equal(v1.PublicKey) {
					t.Fatalf("%s: Active after failed rotation = %v, %v; want v1", name, l, err)
				}
				mustSign(t, l, []byte("still signing"))
			}
			k, err := s.Get(ctx, "marketplace-signing")
			if err != nil || states(k) != "v1:active" {
				t.Errorf("versions after failed rotation: %s, %v; want v1:active", states(k), err)
			}
			if evs, err := s.Events(ctx, "marketplace-signing"); err != nil || len(evs) != 1 {
				t.Errorf("events after failed rotation: %d, %v; want only the created event", len(evs), err)
			}
			// The new backend key, if made, was destroyed.
			created, destroyed := e.soft.counts()
			newKeys := created[len(createdBefore):]
			switch {
			case !tt.madeKey && (len(newKeys) != 0 || len(destroyed) != 0):
				t.Errorf("created %v, destroyed %v; want neither", newKeys, destroyed)
			case tt.madeKey && (len(newKeys) != 1 || len(destroyed) != 1 || newKeys[0].String() != destroyed[0].String()):
				t.Errorf("created %v, destroyed %v; want the new key destroyed", newKeys, destroyed)
			}
			if files := e.keyFiles(t); len(files) != 1 || files[0] != v1.BackendURI.Get("path") {
				t.Errorf("key files %v, want only v1's", files)
			}
			if len(e.logs.lines) != 0 {
				t.Errorf("logged: %q", e.logs.lines)
			}

			// Nothing is stuck: without the fault the rotation goes through.
			if tt.undo != nil {
				tt.undo(t, e)
			}
			failHook.Store(false)
			v2, err := s.Rotate(ctx, "marketplace-signing", soft, actor)
			if err != nil || v2.Version != 2 {
				t.Fatalf("Rotate without the fault = v%d, %v; want v2", v2.Version, err)
			}
			if l, err := s.Active(ctx, "marketplace-signing"); err != nil || l.Version.Version != 2 {
				t.Fatalf("Active = %v, %v; want v2", l, err)
			}
		})
	}
}

func exec(t *testing.T, e *env, sql string) {
	t.Helper()
	if _, err := e.pool.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Replicas rotating one key at once are serialized by the database: one
// active version, consecutive versions, every rotation recorded.
func TestRotateConcurrently(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const replicas, each = 2, 5
	stores := make([]*keystore.Store, replicas)
	for i := range stores {
		stores[i] = e.replica(t)
	}
	ctx := t.Context()
	if _, err := stores[0].Create(ctx, "marketplace-signing", keystore.RoleArchiveSigning, soft, actor); err != nil {
		t.Fatal(err)
	}
	start := make(chan struct{})
	errs := make(chan error, replicas*each)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			<-start
			for range each {
				_, err := s.Rotate(ctx, "marketplace-signing", soft, fmt.Sprintf("replica-%d", i))
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Rotate: %v", err)
		}
	}
	k, err := stores[0].Get(ctx, "marketplace-signing")
	if err != nil {
		t.Fatal(err)
	}
	const last = 1 + replicas*each
	if len(k.Versions) != last {
		t.Fatalf("%d versions, want %d: %s", len(k.Versions), last, states(k))
	}
	seen := map[string]bool{}
	for i, v := range k.Versions {
		wantState := keystore.StateRetired
		if i == last-1 {
			wantState = keystore.StateActive
		}
		if v.Version != int32(i+1) || v.State != wantState {
			t.Errorf("version %d: v%d %s, want v%d %s", i, v.Version, v.State, i+1, wantState)
		}
		if seen[string(v.PublicKey)] {
			t.Errorf("v%d repeats a public key", v.Version)
		}
		seen[string(v.PublicKey)] = true
	}
	evs, err := stores[0].Events(ctx, "marketplace-signing")
	if err != nil || len(evs) != 1+2*replicas*each {
		t.Errorf("%d events, %v; want %d", len(evs), err, 1+2*replicas*each)
	}
	for i, s := range stores {
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if l, err := s.Active(ctx, "marketplace-signing"); err != nil || l.Version.Version != last {
			t.Errorf("replica %d: Active = %v, %v; want v%d", i, l, err, last)
		}
	}
	if files := e.keyFiles(t); len(files) != last {
		t.Errorf("%d key files, want %d (one per version)", len(files), last)
	}
}

// signed is one signature made during TestRotateWhileSigning.
type signed struct {
	version int32
	msg     []byte
	sig     []byte
}

// Rotations while 8 goroutines sign continuously: no request fails, every
// signature verifies under the key and certificate of the version it was
// reported with, and that is the version whose key the database records.
func TestRotateWhileSigning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.store(t, keystore.Options{})
	ctx := t.Context()
	if _, err := s.Create(ctx, "marketplace-signing", keystore.RoleArchiveSigning, soft, actor); err != nil {
		t.Fatal(err)
	}
	const workers, rotations = 8, 4
	var stop atomic.Bool
	var failures, signedCount atomic.Int64
	results := make([][]signed, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				l, err := s.Active(ctx, "marketplace-signing")
				if err != nil {
					failures.Add(1)
					t.Errorf("worker %d: Active: %v", w, err)
					return
				}
				msg := fmt.Appendf(nil, "worker %d archive %d", w, n)
				sig, err := l.Signer.SignMessage(ctx, msg)
				if err != nil {
					failures.Add(1)
					t.Errorf("worker %d: SignMessage v%d: %v", w, l.Version.Version, err)
					return
				}
				certPub, _ := l.Cert.PublicKey.(ed25519.PublicKey)
				if l.State != keystore.StateActive || !ed25519.Verify(l.PublicKey, msg, sig) || !ed25519.Verify(certPub, msg, sig) {
					failures.Add(1)
					t.Errorf("worker %d: signature by v%d (%s) does not verify under its key and certificate", w, l.Version.Version, l.State)
					return
				}
				results[w] = append(results[w], signed{l.Version.Version, msg, sig})
				signedCount.Add(1)
			}
		})
	}
	// Rotate whenever the workers have made another batch of signatures,
	// and stop once they have made a batch after the last rotation.
	waitForSignatures := func(n int64) {
		target := signedCount.Load() + n
		deadline := time.Now().Add(30 * time.Second)
		for signedCount.Load() < target && failures.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("workers made fewer than %d signatures in 30s", n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	var latencies []time.Duration
	for range rotations {
		waitForSignatures(200)
		begin := time.Now()
		if _, err := s.Rotate(ctx, "marketplace-signing", soft, actor); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		latencies = append(latencies, time.Since(begin))
	}
	waitForSignatures(200)
	stop.Store(true)
	wg.Wait()
	t.Logf("rotation latencies under signing load: %v", latencies)

	k, err := s.Get(ctx, "marketplace-signing")
	if err != nil {
		t.Fatal(err)
	}
	pubs := map[int32]ed25519.PublicKey{}
	for _, v := range k.Versions {
		pubs[v.Version] = v.PublicKey
	}
	total, perVersion := 0, map[int32]int{}
	for _, rs := range results {
		for _, r := range rs {
			total++
			perVersion[r.version]++
			if !ed25519.Verify(pubs[r.version], r.msg, r.sig) {
				t.Errorf("signature of %q reported as v%d does not verify under v%d's recorded key", r.msg, r.version, r.version)
			}
		}
	}
	t.Logf("%d signatures, by version %v, %d failures", total, perVersion, failures.Load())
	if failures.Load() != 0 {
		t.Errorf("%d failed requests", failures.Load())
	}
	if perVersion[1+rotations] == 0 || len(perVersion) < 2 {
		t.Errorf("signatures by version %v: want several versions, the last (v%d) among them", perVersion, 1+rotations)
	}
}

package keystore

import (
	"context"
	"fmt"
	"maps"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/kms"
)

type versionKey struct {
	name    string
	version int32
}

// snapshot is an immutable view of the loaded keys: writers copy it, change
// the copy and swap it in, so readers never lock and never see half a change.
type snapshot struct {
	active   map[string]*Loaded     // key name -> its active version
	versions map[versionKey]*Loaded // every loaded version, active ones included
	closed   bool
}

func (sn *snapshot) clone() *snapshot {
	return &snapshot{active: maps.Clone(sn.active), versions: maps.Clone(sn.versions)}
}

// Active returns the active version of key name and its signer. After the
// first call it is a map lookup in memory; the result changes when this
// Store rotates the key, or when Refresh (or Watch) sees a rotation made
// elsewhere. A key without an active version gives ErrNoActiveVersion, an
// unknown one ErrNotFound.
func (s *Store) Active(ctx context.Context, name string) (*Loaded, error) {
	sn := s.snap.Load()
	if l := sn.active[name]; l != nil {
		return l, nil
	}
	if sn.closed {
		return nil, ErrClosed
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.snap.Load().active[name]; l != nil {
		return l, nil
	}
	if err := s.syncLocked(ctx, name); err != nil {
		return nil, err
	}
	if l := s.snap.Load().active[name]; l != nil {
		return l, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrNoActiveVersion, name)
}

// Lookup returns version of key name and its signer, active or retired, to
// replay or check a signature made with it. Revoked versions give
// ErrRevoked, unknown ones ErrNotFound. Loaded versions are cached; a
// revocation made by another replica is seen after Refresh.
func (s *Store) Lookup(ctx context.Context, name string, version int32) (*Loaded, error) {
	k := versionKey{name, version}
	sn := s.snap.Load()
	if l := sn.versions[k]; l != nil {
		return l, nil
	}
	if sn.closed {
		return nil, ErrClosed
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	if err := checkVersion(version); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.snap.Load().versions[k]; l != nil {
		return l, nil
	}
	v, err := readVersion(ctx, s.pool, name, version)
	if err != nil {
		return nil, err
	}
	if v.State == StateRevoked {
		return nil, fmt.Errorf("%w: %s version %d", ErrRevoked, name, version)
	}
	signer, err := s.loadSigner(ctx, v)
	if err != nil {
		return nil, err
	}
	l := &Loaded{Version: v, Signer: signer}
	if !s.swapLocked(func(next *snapshot) { next.versions[k] = l }) {
		_ = signer.Close()
		return nil, ErrClosed
	}
	return l, nil
}

// Refresh brings every key this Store has loaded up to date with the
// database: rotations and revocations made by other replicas. A version
// that cannot be loaded leaves the key as it was (still signing with the
// version it had) and is reported; a revoked version is dropped at once.
func (s *Store) Refresh(ctx context.Context) error {
	sn := s.snap.Load()
	if sn.closed {
		return ErrClosed
	}
	names := map[string]bool{}
	for k := range sn.versions {
		names[k.name] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for name := range names {
		same, err := s.currentLocked(ctx, name)
		if err == nil && !same {
			err = s.syncLocked(ctx, name)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrs(errs)
}

// currentLocked reports whether the snapshot matches the database for key
// name: the same active version, and the same state for every loaded
// version. It reads only those rows (and revoked ones), so polling costs
// nothing that grows with the key's history.
func (s *Store) currentLocked(ctx context.Context, name string) (bool, error) {
	sn := s.snap.Load()
	var loaded []int32
	for k := range sn.versions {
		if k.name == name {
			loaded = append(loaded, k.version)
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT version, state FROM key_versions
		WHERE name = $1 AND (state <> 'retired' OR version = ANY($2))`, name, loaded)
	if err != nil {
		return false, wrap("refresh "+name, err)
	}
	var version int32
	var state string
	same, sawActive := true, false
	_, err = pgx.ForEachRow(rows, []any{&version, &state}, func() error {
		if l := sn.versions[versionKey{name, version}]; l != nil && l.State != State(state) {
			same = false
		}
		if State(state) == StateActive {
			sawActive = true
			if a := sn.active[name]; a == nil || a.Version.Version != version {
				same = false
			}
		}
		return nil
	})
	if err != nil {
		return false, wrap("refresh "+name, err)
	}
	if !sawActive && sn.active[name] != nil {
		same = false
	}
	return same, nil
}

// syncLocked reads every version of key name and updates the snapshot to
// match: metadata of loaded versions, the active version (loading its
// signer if needed), revoked versions dropped. The read and the swap both
// happen under s.mu, so no older read overwrites a newer one. If the active
// version's signer cannot be loaded, only revocations are applied: a
// replica that cannot reach the new version's backend keeps signing with
// the valid version it has rather than not at all, and the error is
// returned.
func (s *Store) syncLocked(ctx context.Context, name string) error {
	if s.closed {
		return ErrClosed
	}
	vs, err := readVersions(ctx, s.pool, name)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		if _, err := s.Get(ctx, name); err != nil {
			return err
		}
	}
	sn := s.snap.Load()
	var want *Version
	for i := range vs {
		if vs[i].State == StateActive {
			want = &vs[i]
		}
	}
	var fresh kms.Signer
	var loadErr error
	if want != nil && sn.versions[versionKey{name, want.Version}] == nil {
		fresh, loadErr = s.loadSigner(ctx, *want)
	}

	next := sn.clone()
	changed := false
	for _, v := range vs {
		k := versionKey{name, v.Version}
		old := next.versions[k]
		switch {
		case v.State == StateRevoked:
			if old != nil {
				delete(next.versions, k)
				s.evicted = append(s.evicted, old.Signer)
				changed = true
			}
		case loadErr != nil:
			// Leave the rest of this key as it was.
		case old != nil:
			if old.State != v.State || (old.RetiredAt == nil) != (v.RetiredAt == nil) {
				next.versions[k] = &Loaded{Version: v, Signer: old.Signer}
				changed = true
			}
		case fresh != nil && v.State == StateActive:
			next.versions[k] = &Loaded{Version: v, Signer: fresh}
			changed = true
		}
	}
	var active *Loaded
	switch {
	case loadErr != nil:
		if a := sn.active[name]; a != nil && next.versions[versionKey{name, a.Version.Version}] != nil {
			active = a
		}
	case want != nil:
		active = next.versions[versionKey{name, want.Version}]
	}
	if next.active[name] != active {
		if active != nil {
			next.active[name] = active
		} else {
			delete(next.active, name)
		}
		changed = true
	}
	if changed {
		s.snap.Store(next)
	}
	return loadErr
}

// install puts a version this Store just committed in the snapshot as
// active, and marks the version it replaced retired, without a database
// read. A newer active version already installed (by Refresh) wins.
func (s *Store) install(name string, out outcome, signer kms.Signer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &Loaded{Version: out.added, Signer: signer}
	ok := s.swapLocked(func(next *snapshot) {
		k := versionKey{name, out.added.Version}
		if next.versions[k] != nil {
			l = nil // loaded meanwhile by Refresh or Lookup
			return
		}
		next.versions[k] = l
		if out.retired != nil {
			rk := versionKey{name, out.retired.Version}
			if old := next.versions[rk]; old != nil && old.State == StateActive {
				next.versions[rk] = &Loaded{Version: *out.retired, Signer: old.Signer}
			}
		}
		if a := next.active[name]; a == nil || a.Version.Version < out.added.Version {
			next.active[name] = l
		}
	})
	if !ok || l == nil {
		_ = signer.Close()
	}
}

// swapLocked applies fn to a copy of the snapshot and swaps it in; false
// when the Store is closed. The caller holds s.mu.
func (s *Store) swapLocked(fn func(next *snapshot)) bool {
	if s.closed {
		return false
	}
	next := s.snap.Load().clone()
	fn(next)
	s.snap.Store(next)
	return true
}

// loadSigner loads v's backend key through the registry and checks it is
// the key recorded for v.
func (s *Store) loadSigner(ctx context.Context, v Version) (kms.Signer, error) {
	signer, err := s.reg.LoadSigner(ctx, v.BackendURI)
	if err != nil {
		return nil, fmt.Errorf("keystore: key %s version %d: load %s: %w", v.Name, v.Version, v.BackendURI, err)
	}
	if !signer.Public().Equal(v.PublicKey) {
		_ = signer.Close()
		return nil, fmt.Errorf("keystore: key %s version %d: %w: %s holds a different public key than recorded", v.Name, v.Version, ErrKeyMismatch, v.BackendURI)
	}
	return signer, nil
}

func joinErrs(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return fmt.Errorf("keystore: refresh: %d keys failed; first: %w", len(errs), errs[0])
}

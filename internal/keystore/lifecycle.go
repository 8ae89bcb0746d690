package keystore

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/kms"
)

// Create makes a new key: version 1 is created in backend, tested, given a
// certificate (archive-signing) and committed active. A key of that name
// already existing gives ErrExists, and the backend key is destroyed again.
func (s *Store) Create(ctx context.Context, name string, role Role, backend BackendSpec, actor string) (Version, error) {
	if err := errors.Join(checkName(name), checkRole(role), checkActor(actor)); err != nil {
		return Version{}, err
	}
	// An early answer that saves making a backend key; the transaction decides.
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM keys WHERE name = $1)`, name).Scan(&exists); err != nil {
		return Version{}, wrap("create "+name, err)
	}
	if exists {
		return Version{}, fmt.Errorf("%w: %s", ErrExists, name)
	}
	c, err := s.newBackendKey(ctx, name, role, backend)
	if err != nil {
		return Version{}, err
	}
	return s.apply(ctx, change{name: name, role: role, kind: EventCreated, actor: actor, c: c})
}

// Rotate adds a version made in backend (an empty backend.Scheme means the
// active version's backend) and makes it the active version; the previous
// active version is retired, verify-only. The new key is created, loaded,
// test-signed and certified before one transaction retires the old version
// and inserts the new one; any failure before that commits leaves the old
// version active and destroys the new backend key. Concurrent rotations of
// one key, from any replica, are serialized: each retires the version the
// previous one added.
func (s *Store) Rotate(ctx context.Context, name string, backend BackendSpec, actor string) (Version, error) {
	if err := errors.Join(checkName(name), checkActor(actor)); err != nil {
		return Version{}, err
	}
	// Role and active backend only: reading every version would make
	// rotation cost grow with the key's history.
	var role Role
	var activeURI *string
	err := s.pool.QueryRow(ctx, `SELECT k.role, v.backend_uri FROM keys k
		LEFT JOIN key_versions v ON v.name = k.name AND v.state = 'active'
		WHERE k.name = $1`, name).Scan(&role, &activeURI)
	if errors.Is(err, pgx.ErrNoRows) {
		return Version{}, fmt.Errorf("%w: key %s", ErrNotFound, name)
	}
	if err != nil {
		return Version{}, wrap("rotate "+name, err)
	}
	if backend.Scheme == "" {
		if activeURI == nil {
			return Version{}, fmt.Errorf("keystore: rotate %s: %w: name the backend to create the new version in", name, ErrNoActiveVersion)
		}
		u, err := kms.ParseURI(*activeURI)
		if err != nil {
			return Version{}, fmt.Errorf("keystore: rotate %s: active version's backend URI: %w", name, err)
		}
		backend.Scheme = u.Scheme
	}
	c, err := s.newBackendKey(ctx, name, role, backend)
	if err != nil {
		return Version{}, err
	}
	return s.apply(ctx, change{name: name, role: role, kind: EventRotated, actor: actor, c: c})
}

// Import registers a key that already exists in its backend, with its
// certificate (required for archive-signing keys; checked to belong to the
// key and to be valid now). It creates the key when missing. When the
// active version already is this backend key with this certificate it
// returns that version and writes nothing, so it can run at every start
// (dev mode imports the dev PKI's signing key). Otherwise the import
// becomes the new active version, retiring the previous one: that is how a
// re-issued certificate for the same key is registered. A key of another
// role gives ErrExists. Imported keys are never destroyed by the Store.
func (s *Store) Import(ctx context.Context, name string, role Role, uri kms.URI, cert *x509.Certificate, actor string) (Version, error) {
	if err := errors.Join(checkName(name), checkRole(role), checkActor(actor)); err != nil {
		return Version{}, err
	}
	c, err := s.importedKey(ctx, name, role, uri, cert)
	if err != nil {
		return Version{}, err
	}
	return s.apply(ctx, change{name: name, role: role, kind: EventImported, actor: actor, c: c})
}

// apply commits ch and installs its version as the active one in memory.
// It owns ch.c: on failure the candidate is discarded (or kept, when the
// commit may have succeeded).
func (s *Store) apply(ctx context.Context, ch change) (Version, error) {
	out, err := s.commit(ctx, ch)
	switch {
	case errors.Is(err, errCommitUnknown):
		if v, ok := s.committed(ctx, ch); ok {
			s.install(ch.name, outcome{added: v}, ch.c.signer)
			return v, nil
		}
		s.keep(ch.name, ch.c, err)
		return Version{}, err
	case err != nil:
		s.discard(ctx, ch.name, ch.c)
		return Version{}, err
	case out.same:
		// Nothing written: the import is the active version already.
		_ = ch.c.signer.Close()
		return out.added, nil
	}
	s.install(ch.name, out, ch.c.signer)
	return out.added, nil
}

// committed looks for the version ch would have added, after a commit
// whose outcome is unknown.
func (s *Store) committed(ctx context.Context, ch change) (Version, bool) {
	ctx = context.WithoutCancel(ctx)
	rows, _ := s.pool.Query(ctx, `SELECT `+versionColumns+` FROM key_versions
		WHERE name = $1 AND backend_uri = $2 AND state = 'active'`, ch.name, ch.c.uri.String())
	v, err := pgx.CollectExactlyOneRow(rows, scanVersion)
	return v, err == nil
}

// Retire makes version verify-only. Versions are retired by the rotation
// that replaces them, so this is for the record and the API's symmetry:
// retiring a retired version is a no-op, the active version cannot be
// retired without a replacement (ErrActiveVersion: rotate instead), and a
// revoked one gives ErrRevoked.
func (s *Store) Retire(ctx context.Context, name string, version int32, actor string) error {
	if err := errors.Join(checkName(name), checkVersion(version), checkActor(actor)); err != nil {
		return err
	}
	v, err := readVersion(ctx, s.pool, name, version)
	if err != nil {
		return err
	}
	switch v.State {
	case StateRetired:
		return nil
	case StateActive:
		return fmt.Errorf("%w: %s version %d is the active version; rotate to replace it", ErrActiveVersion, name, version)
	default:
		return fmt.Errorf("%w: %s version %d", ErrRevoked, name, version)
	}
}

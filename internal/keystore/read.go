package keystore

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/kms"
)

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const versionColumns = `name, version, backend_uri, public_key, certificate, state,
	created_at, activated_at, retired_at, actor`

// scanVersion reads one row of versionColumns.
func scanVersion(row pgx.CollectableRow) (Version, error) {
	var (
		v       Version
		uri     string
		pub     []byte
		der     []byte
		state   string
		retired *time.Time
	)
	if err := row.Scan(&v.Name, &v.Version, &uri, &pub, &der, &state,
		&v.CreatedAt, &v.ActivatedAt, &retired, &v.Actor); err != nil {
		return Version{}, err
	}
	u, err := kms.ParseURI(uri)
	if err != nil {
		return Version{}, fmt.Errorf("key %s version %d: stored backend URI: %w", v.Name, v.Version, err)
	}
	v.BackendURI = u
	v.PublicKey = ed25519.PublicKey(pub)
	if der != nil {
		if v.Cert, err = x509.ParseCertificate(der); err != nil {
			return Version{}, fmt.Errorf("key %s version %d: stored certificate: %w", v.Name, v.Version, err)
		}
	}
	v.State = State(state)
	v.CreatedAt = v.CreatedAt.UTC()
	v.ActivatedAt = v.ActivatedAt.UTC()
	if retired != nil {
		r := retired.UTC()
		v.RetiredAt = &r
	}
	return v, nil
}

// readVersions returns every version of key name, oldest first; none when
// the key does not exist.
func readVersions(ctx context.Context, q querier, name string) ([]Version, error) {
	rows, _ := q.Query(ctx, `SELECT `+versionColumns+` FROM key_versions WHERE name = $1 ORDER BY version`, name)
	vs, err := pgx.CollectRows(rows, scanVersion)
	if err != nil {
		return nil, wrap("read versions of "+name, err)
	}
	return vs, nil
}

// readVersion returns one version, or ErrNotFound.
func readVersion(ctx context.Context, q querier, name string, version int32) (Version, error) {
	rows, _ := q.Query(ctx, `SELECT `+versionColumns+` FROM key_versions WHERE name = $1 AND version = $2`, name, version)
	v, err := pgx.CollectExactlyOneRow(rows, scanVersion)
	if errors.Is(err, pgx.ErrNoRows) {
		return Version{}, fmt.Errorf("%w: key %s version %d", ErrNotFound, name, version)
	}
	if err != nil {
		return Version{}, wrap(fmt.Sprintf("read key %s version %d", name, version), err)
	}
	return v, nil
}

func scanKey(row pgx.CollectableRow) (Key, error) {
	var k Key
	var role string
	if err := row.Scan(&k.Name, &role, &k.CreatedAt, &k.CreatedBy); err != nil {
		return Key{}, err
	}
	k.Role = Role(role)
	k.CreatedAt = k.CreatedAt.UTC()
	return k, nil
}

// readOnly runs fn in a read-only snapshot so a key and its versions are
// read as of one moment.
func (s *Store) readOnly(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// Get returns key name with all its versions, or ErrNotFound.
func (s *Store) Get(ctx context.Context, name string) (Key, error) {
	if err := checkName(name); err != nil {
		return Key{}, err
	}
	var k Key
	err := s.readOnly(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT name, role, created_at, created_by FROM keys WHERE name = $1`, name)
		var err error
		if k, err = pgx.CollectExactlyOneRow(rows, scanKey); err != nil {
			return err
		}
		k.Versions, err = readVersions(ctx, tx, name)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Key{}, fmt.Errorf("%w: key %s", ErrNotFound, name)
	}
	if err != nil {
		return Key{}, wrap("get key "+name, err)
	}
	return k, nil
}

// List returns every key with its versions, by name.
func (s *Store) List(ctx context.Context) ([]Key, error) {
	var keys []Key
	err := s.readOnly(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT name, role, created_at, created_by FROM keys ORDER BY name`)
		var err error
		if keys, err = pgx.CollectRows(rows, scanKey); err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, `SELECT `+versionColumns+` FROM key_versions ORDER BY name, version`)
		vs, err := pgx.CollectRows(rows, scanVersion)
		if err != nil {
			return err
		}
		byName := make(map[string]*Key, len(keys))
		for i := range keys {
			byName[keys[i].Name] = &keys[i]
		}
		for _, v := range vs {
			if k := byName[v.Name]; k != nil {
				k.Versions = append(k.Versions, v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap("list keys", err)
	}
	return keys, nil
}

// Events returns the history of key name, oldest first (none for an
// unknown key).
func (s *Store) Events(ctx context.Context, name string) ([]Event, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	rows, _ := s.pool.Query(ctx, `SELECT id, name, version, event, actor, at, detail
		FROM key_events WHERE name = $1 ORDER BY id`, name)
	evs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Event, error) {
		var ev Event
		var kind string
		var detail []byte
		if err := row.Scan(&ev.ID, &ev.Name, &ev.Version, &kind, &ev.Actor, &ev.At, &detail); err != nil {
			return Event{}, err
		}
		ev.Kind = EventKind(kind)
		ev.At = ev.At.UTC()
		if err := json.Unmarshal(detail, &ev.Detail); err != nil {
			return Event{}, fmt.Errorf("event %d detail: %w", ev.ID, err)
		}
		return ev, nil
	})
	if err != nil {
		return nil, wrap("read events of "+name, err)
	}
	return evs, nil
}

package keystore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// notifyChannel is the PostgreSQL channel every key change is announced
// on (payload: the key name); Watch listens to it.
const notifyChannel = "keystore_changed"

// change is a new version to commit as the active version of a key.
type change struct {
	name  string
	role  Role
	kind  EventKind // EventCreated, EventImported or EventRotated
	actor string
	c     *candidate
}

// outcome is what commit did.
type outcome struct {
	added   Version
	retired *Version // the version added replaced, if any
	// same is true when an import matched the active version and nothing was written.
	same bool
}

// errCommitUnknown marks a failure of COMMIT itself whose outcome the
// server did not report: the change may have been committed.
var errCommitUnknown = errors.New("commit outcome unknown")

// commit writes ch in one transaction: the key row (created, imported),
// retirement of the active version, the new active version, their
// key_events rows and the OnEvent calls, and a notification to replicas.
func (s *Store) commit(ctx context.Context, ch change) (outcome, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return outcome{}, wrap("key "+ch.name+": begin", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	out, err := s.write(ctx, tx, ch)
	if err != nil || out.same {
		return out, err
	}
	if err := tx.Commit(ctx); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) || errors.Is(err, pgx.ErrTxCommitRollback) {
			// The server answered: it rolled back.
			return outcome{}, wrap("key "+ch.name+": commit", err)
		}
		return outcome{}, fmt.Errorf("%w: %w", errCommitUnknown, wrap("key "+ch.name+": commit", err))
	}
	return out, nil
}

func (s *Store) write(ctx context.Context, tx pgx.Tx, ch change) (outcome, error) {
	now := s.now()
	fail := func(what string, err error) (outcome, error) {
		return outcome{}, wrap("key "+ch.name+": "+what, err)
	}
	if ch.kind != EventRotated {
		tag, err := tx.Exec(ctx, `INSERT INTO keys (name, role, created_at, created_by)
			VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING`, ch.name, ch.role, now, ch.actor)
		if err != nil {
			return fail("insert key", err)
		}
		if ch.kind == EventCreated && tag.RowsAffected() == 0 {
			return outcome{}, fmt.Errorf("%w: %s", ErrExists, ch.name)
		}
	}
	// The row lock serializes changes to one key across replicas; the
	// expensive work (backend key, certificate) was done before.
	var role string
	err := tx.QueryRow(ctx, `SELECT role FROM keys WHERE name = $1 FOR UPDATE`, ch.name).Scan(&role)
	if errors.Is(err, pgx.ErrNoRows) {
		return outcome{}, fmt.Errorf("%w: key %s", ErrNotFound, ch.name)
	}
	if err != nil {
		return fail("lock key", err)
	}
	if Role(role) != ch.role {
		return outcome{}, fmt.Errorf("%w: %s has role %s, not %s", ErrExists, ch.name, role, ch.role)
	}
	rows, _ := tx.Query(ctx, `SELECT `+versionColumns+` FROM key_versions WHERE name = $1 AND state = 'active'`, ch.name)
	actives, err := pgx.CollectRows(rows, scanVersion)
	if err != nil {
		return fail("read active version", err)
	}
	var cur *Version
	if len(actives) == 1 {
		cur = &actives[0]
	}
	if ch.kind == EventImported && cur != nil && sameKey(*cur, ch.c) {
		return outcome{added: *cur, same: true}, nil
	}
	// A revoked key never comes back: not by import (dev re-imports its key
	// at every start), not as another key's version.
	var revoked bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM key_versions WHERE public_key = $1 AND state = 'revoked')`,
		[]byte(ch.c.pub)).Scan(&revoked); err != nil {
		return fail("check for a revoked version of the key", err)
	}
	if revoked {
		return outcome{}, fmt.Errorf("%w: key %s: this backend key was revoked; it cannot become a version again", ErrRevoked, ch.name)
	}
	var next int32
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) + 1 FROM key_versions WHERE name = $1`, ch.name).Scan(&next); err != nil {
		return fail("next version", err)
	}

	var evs []Event
	var retired *Version
	if cur != nil {
		if _, err := tx.Exec(ctx, `UPDATE key_versions SET state = 'retired', retired_at = $3
			WHERE name = $1 AND version = $2`, ch.name, cur.Version, now); err != nil {
			return fail(fmt.Sprintf("retire version %d", cur.Version), err)
		}
		r := *cur
		r.State, r.RetiredAt = StateRetired, &now
		retired = &r
		evs = append(evs, Event{Name: ch.name, Version: cur.Version, Kind: EventRetired, Actor: ch.actor, At: now,
			Detail: EventDetail{ReplacedBy: next}})
	}
	added := Version{
		Name: ch.name, Version: next, BackendURI: ch.c.uri, PublicKey: ch.c.pub, Cert: ch.c.cert,
		State: StateActive, CreatedAt: ch.c.created, ActivatedAt: now, Actor: ch.actor,
	}
	var der []byte
	if added.Cert != nil {
		der = added.Cert.Raw
	}
	if _, err := tx.Exec(ctx, `INSERT INTO key_versions (name, version, backend_uri, public_key, certificate,
			state, created_at, activated_at, actor) VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8)`,
		ch.name, next, added.BackendURI.String(), []byte(added.PublicKey), der, added.CreatedAt, now, ch.actor); err != nil {
		return fail(fmt.Sprintf("insert version %d", next), err)
	}
	detail := EventDetail{Role: ch.role, BackendURI: added.BackendURI.String(), PublicKey: hex.EncodeToString(added.PublicKey)}
	if added.Cert != nil {
		sum := sha256.Sum256(der)
		detail.CertSerial, detail.CertSHA256 = added.Cert.SerialNumber.Text(16), hex.EncodeToString(sum[:])
	}
	if cur != nil {
		detail.Replaces = cur.Version
	}
	evs = append(evs, Event{Name: ch.name, Version: next, Kind: ch.kind, Actor: ch.actor, At: now, Detail: detail})

	for _, ev := range evs {
		if err := s.appendEvent(ctx, tx, ev); err != nil {
			return outcome{}, err
		}
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, ch.name); err != nil {
		return fail("notify", err)
	}
	return outcome{added: added, retired: retired}, nil
}

// appendEvent inserts ev into key_events and hands it, with its ID, to
// Options.OnEvent inside the same transaction.
func (s *Store) appendEvent(ctx context.Context, tx pgx.Tx, ev Event) error {
	detail, err := json.Marshal(ev.Detail)
	if err != nil {
		return fmt.Errorf("keystore: key %s: event detail: %w", ev.Name, err)
	}
	if err := tx.QueryRow(ctx, `INSERT INTO key_events (name, version, event, actor, at, detail)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		ev.Name, ev.Version, ev.Kind, ev.Actor, ev.At, detail).Scan(&ev.ID); err != nil {
		return wrap(fmt.Sprintf("key %s: append %s event", ev.Name, ev.Kind), err)
	}
	if s.opts.OnEvent != nil {
		if err := s.opts.OnEvent(ctx, tx, ev); err != nil {
			return fmt.Errorf("keystore: key %s: event hook for %s event %d: %w", ev.Name, ev.Kind, ev.ID, err)
		}
	}
	return nil
}

// sameKey reports whether v is the key and certificate c would add, so an
// import of it is a no-op.
func sameKey(v Version, c *candidate) bool {
	if v.BackendURI.String() != c.uri.String() || !v.PublicKey.Equal(c.pub) {
		return false
	}
	if v.Cert == nil || c.cert == nil {
		return v.Cert == nil && c.cert == nil
	}
	return bytes.Equal(v.Cert.Raw, c.cert.Raw)
}

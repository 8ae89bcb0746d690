package keystore_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/appsign/signer/internal/keystore"
)

// TestSchemaGuards bypasses the Store to show the tables themselves refuse
// what would falsify the key history, whatever client writes to them.
func TestSchemaGuards(t *testing.T) {
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
	const (
		integrity = "23000" // integrity_constraint_violation, raised by the triggers
		unique    = "23505"
		check     = "23514"
	)
	tests := []struct {
		name, sql, wantCode string
	}{
		{"update event", `UPDATE key_events SET actor = 'mallory' WHERE id = (SELECT min(id) FROM key_events)`, integrity},
		{"update event detail", `UPDATE key_events SET detail = '{}'`, integrity},
		{"delete event", `DELETE FROM key_events`, integrity},
		{"truncate events", `TRUNCATE key_events`, integrity},
		{"delete version", `DELETE FROM key_versions WHERE version = 1`, integrity},
		{"truncate versions", `TRUNCATE key_versions CASCADE`, integrity},
		{"swap a version's key", `UPDATE key_versions SET public_key = '\x` + "0000000000000000000000000000000000000000000000000000000000000000" + `' WHERE version = 1`, integrity},
		{"swap a version's backend key", `UPDATE key_versions SET backend_uri = 'softkms:path=/tmp/other.key' WHERE version = 2`, integrity},
		{"reactivate a retired version", `UPDATE key_versions SET state = 'active', retired_at = NULL WHERE version = 1`, integrity},
		{"second active version", `INSERT INTO key_versions (name, version, backend_uri, public_key, state, created_at, activated_at, actor)
			SELECT name, 3, backend_uri, public_key, 'active', now(), now(), 'x' FROM key_versions WHERE version = 1`, unique},
		{"retired without retired_at", `INSERT INTO key_versions (name, version, backend_uri, public_key, state, created_at, activated_at, actor)
			SELECT name, 3, backend_uri, public_key, 'retired', now(), now(), 'x' FROM key_versions WHERE version = 1`, check},
		{"unknown role", `INSERT INTO keys (name, role, created_at, created_by) VALUES ('tls-key', 'tls', now(), 'x')`, check},
		{"bad key name", `INSERT INTO keys (name, role, created_at, created_by) VALUES ('Bad_Name', 'ca', now(), 'x')`, check},
		{"unknown event", `INSERT INTO key_events (name, version, event, actor, at) VALUES ('marketplace-signing', 1, 'exported', 'x', now())`, check},
		{"31-byte public key", `INSERT INTO key_versions (name, version, backend_uri, public_key, state, created_at, activated_at, actor)
			VALUES ('marketplace-signing', 3, 'softkms:path=/x', '\x00', 'retired', now(), now(), 'x')`, check},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.pool.Exec(ctx, tt.sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != tt.wantCode {
				t.Fatalf("err = %v, want SQLSTATE %s", err, tt.wantCode)
			}
		})
	}
	// What the Store itself does stays allowed: appending events, moving a
	// version forward.
	if _, err := e.pool.Exec(ctx, `INSERT INTO key_events (name, version, event, actor, at) VALUES ('marketplace-signing', 1, 'revoked', 'x', now())`); err != nil {
		t.Errorf("append event: %v", err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE key_versions SET state = 'revoked' WHERE version = 1`); err != nil {
		t.Errorf("retired -> revoked: %v", err)
	}
	if evs, err := s.Events(ctx, "marketplace-signing"); err != nil || len(evs) != 4 {
		t.Errorf("events after the attempts: %d, %v; want 4", len(evs), err)
	}
}

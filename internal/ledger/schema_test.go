package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestSchemaChecks bypasses Store to show the table itself refuses bad rows,
// whatever client writes to it.
func TestSchemaChecks(t *testing.T) {
	t.Parallel()
	_, url := newStore(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	const insert = `INSERT INTO signatures (app_key, version, track, archive_size, sha256, sha512,
		key_id, key_version, cert_serial, signature, caller, review_ref, idempotency_key, signed_at)
		VALUES ('app', '1', $1, $2, $3, $4, 'k', 1, 's', $5, 'c', 'r', $6, now())`
	b := func(n int) []byte { return bytes.Repeat([]byte{1}, n) }
	tests := []struct {
		name     string
		track    string
		size     int64
		sha256   []byte
		sha512   []byte
		sig      []byte
		wantCode string // "" = accepted
	}{
		{"valid row", "MARKETPLACE", 10, b(32), b(64), b(64), ""},
		{"31-byte sha256", "MARKETPLACE", 10, b(31), b(64), b(64), "23514"},
		{"33-byte sha256", "MARKETPLACE", 10, b(33), b(64), b(64), "23514"},
		{"63-byte sha512", "PRIVATE_BUILD", 10, b(32), b(63), b(64), "23514"},
		{"65-byte signature", "MARKETPLACE", 10, b(32), b(64), b(65), "23514"},
		{"negative size", "MARKETPLACE", -1, b(32), b(64), b(64), "23514"},
		{"unknown track", "CUSTOM", 10, b(32), b(64), b(64), "23514"},
		{"null sha256", "MARKETPLACE", 10, nil, b(64), b(64), "23502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := conn.Exec(ctx, insert, tt.track, tt.size, tt.sha256, tt.sha512, tt.sig, tt.name)
			var pgErr *pgconn.PgError
			switch {
			case tt.wantCode == "" && err != nil:
				t.Errorf("valid row rejected: %v", err)
			case tt.wantCode != "" && !errors.As(err, &pgErr):
				t.Errorf("err = %v, want SQLSTATE %s", err, tt.wantCode)
			case tt.wantCode != "" && pgErr.Code != tt.wantCode:
				t.Errorf("SQLSTATE %s (%s), want %s", pgErr.Code, pgErr.Message, tt.wantCode)
			}
		})
	}

	_, err = conn.Exec(ctx, insert, "MARKETPLACE", 1, b(32), b(64), b(64), "valid row")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Errorf("duplicate (caller, idempotency_key): err = %v, want unique violation", err)
	}
}

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
	s, url := newStore(t)
	ctx := t.Context()
	stored, _, err := s.Record(ctx, entry("com.example.app", "1.0.0", "recorded"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	const insert = `INSERT INTO signatures (app_key, version, track, archive_size, sha256, sha512,
		key_id, key_version, cert_serial, signature, caller, review_ref, idempotency_key, signed_at, log_index)
		VALUES ('app', '1', $1, $2, $3, $4, 'k', 1, 's', $5, 'c', 'r', $6, now(), $7)`
	b := func(n int) []byte { return bytes.Repeat([]byte{1}, n) }
	free := int64(1000) // a log index with no leaf
	tests := []struct {
		name     string
		track    string
		size     int64
		sha256   []byte
		sha512   []byte
		sig      []byte
		logIndex *int64
		wantCode string
	}{
		{"valid row but no leaf", "MARKETPLACE", 10, b(32), b(64), b(64), &free, "23503"},
		{"no log index", "MARKETPLACE", 10, b(32), b(64), b(64), nil, "23514"},
		{"leaf of another row", "MARKETPLACE", 10, b(32), b(64), b(64), &stored.LogIndex, "23505"},
		{"31-byte sha256", "MARKETPLACE", 10, b(31), b(64), b(64), &free, "23514"},
		{"33-byte sha256", "MARKETPLACE", 10, b(33), b(64), b(64), &free, "23514"},
		{"63-byte sha512", "PRIVATE_BUILD", 10, b(32), b(63), b(64), &free, "23514"},
		{"65-byte signature", "MARKETPLACE", 10, b(32), b(64), b(65), &free, "23514"},
		{"negative size", "MARKETPLACE", -1, b(32), b(64), b(64), &free, "23514"},
		{"unknown track", "CUSTOM", 10, b(32), b(64), b(64), &free, "23514"},
		{"null sha256", "MARKETPLACE", 10, nil, b(64), b(64), &free, "23502"},
		{"update", "", 0, nil, nil, nil, nil, "23001"},
		{"delete", "", 0, nil, nil, nil, nil, "23001"},
		{"truncate", "", 0, nil, nil, nil, nil, "0A000"}, // referenced by revocations
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			switch tt.name {
			case "update":
				_, err = conn.Exec(ctx, `UPDATE signatures SET sha256 = $1 WHERE id = $2`, b(32), stored.ID)
			case "delete":
				_, err = conn.Exec(ctx, `DELETE FROM signatures WHERE id = $1`, stored.ID)
			case "truncate":
				_, err = conn.Exec(ctx, `TRUNCATE signatures`)
			default:
				_, err = conn.Exec(ctx, insert, tt.track, tt.size, tt.sha256, tt.sha512, tt.sig, tt.name, tt.logIndex)
			}
			var pgErr *pgconn.PgError
			switch {
			case !errors.As(err, &pgErr):
				t.Errorf("err = %v, want SQLSTATE %s", err, tt.wantCode)
			case pgErr.Code != tt.wantCode:
				t.Errorf("SQLSTATE %s (%s), want %s", pgErr.Code, pgErr.Message, tt.wantCode)
			}
		})
	}
	if got, err := s.Get(ctx, stored.ID); err != nil || !bytes.Equal(got.SHA256, stored.SHA256) {
		t.Errorf("after the rejected changes: Get = %v, %v; want the entry unchanged", got, err)
	}
}

package ledger_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/ledger"
)

// TestListBulkPagesReadTheSame holds a bulk page (read in PostgreSQL's
// binary format, as an audit reads the table) to the entries an auditor's
// small page (text format) returns, field for field, under every kind of
// filter: digests, signature, statement, time, revocation status.
func TestListBulkPagesReadTheSame(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	ctx := t.Context()
	var ids []int64
	for i := range 5 {
		e := entry(fmt.Sprintf("com.example.app%d", i%2), "1.0."+fmt.Sprint(i), fmt.Sprintf("bulk-%d", i))
		e.SignedAt = time.Date(2026, 1, 1, i, 0, 0, 123456789, time.UTC)
		if i%2 == 0 {
			e.Profile, e.Statement = ledger.ProfileDigestV1, []byte(fmt.Sprintf("statement \x00\xff %d", i))
		}
		stored, _, err := s.Record(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, stored.ID)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var revocationID int64
	err = conn.QueryRow(ctx, `WITH r AS (INSERT INTO revocations (kind, target, archive_sha256, reason, revoked_at, revoked_by)
			VALUES ('archive', 'x', repeat('a', 64), 'key-compromise', now(), 'admin') RETURNING id)
		INSERT INTO revocation_events (revocation_id, action, reason, affected_entry_ids, actor, at)
		SELECT id, 'revoked', 'key-compromise', $1, 'admin', now() FROM r RETURNING revocation_id`, []int64{ids[3]}).Scan(&revocationID)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	first := entry("com.example.app0", "1.0.0", "")
	tests := map[string]ledger.Filter{
		"everything":       {},
		"app key":          {AppKey: "com.example.app1"},
		"archive sha256":   {SHA256: first.SHA256},
		"time range":       {SignedFrom: time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC), SignedTo: time.Date(2026, 1, 1, 4, 0, 0, 0, time.UTC)},
		"revoked":          {Revoked: &yes},
		"revocation id":    {RevocationID: revocationID},
		"idempotency keys": {IdempotencyPrefix: "bulk-"},
		"after a cursor":   {AfterID: ids[1]},
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			small, bulk := f, f
			small.Limit, bulk.Limit = 10, ledger.MaxListLimit
			want, err := s.List(ctx, small)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.List(ctx, bulk)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 || len(got) != len(want) {
				t.Fatalf("bulk page has %d entries, small page %d (want some)", len(got), len(want))
			}
			for i := range want {
				if d := equalEntries(got[i], want[i]); d != "" {
					t.Errorf("entry %d: %s", want[i].ID, d)
				}
				if got[i].Revoked != (got[i].ID == ids[3]) {
					t.Errorf("entry %d: revoked = %v", got[i].ID, got[i].Revoked)
				}
			}
		})
	}
}

package ledger_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/ledger"
)

// TestListFilters records a small ledger and checks each auditor filter
// selects exactly the entries it should, and that revocation status comes
// from revocation_events.
func TestListFilters(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	ctx := t.Context()
	var ids []int64
	for i := range 6 {
		e := entry(fmt.Sprintf("com.example.app%d", i%2), fmt.Sprintf("1.0.%d", i%3), fmt.Sprintf("k-%d", i))
		e.Track = []string{ledger.TrackMarketplace, ledger.TrackPrivateBuild}[i/5]
		e.KeyVersion = int32(i%2) + 1
		e.CertSerial = fmt.Sprintf("c%d", i%2)
		e.Caller = fmt.Sprintf("caller-%d", i%3)
		e.SignedAt = time.Date(2026, 1, 1, i, 0, 0, 0, time.UTC)
		stored, _, err := s.Record(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, stored.ID)
	}
	// Entry 2 is revoked (as the revocation store would record it).
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var revocationID, emptyRevocationID int64
	err = conn.QueryRow(ctx, `WITH r AS (INSERT INTO revocations (kind, target, archive_sha256, reason, revoked_at, revoked_by)
			VALUES ('archive', 'x', repeat('a', 64), 'key-compromise', now(), 'admin') RETURNING id)
		INSERT INTO revocation_events (revocation_id, action, reason, affected_entry_ids, actor, at)
		SELECT id, 'revoked', 'key-compromise', $1, 'admin', now() FROM r RETURNING revocation_id`, []int64{ids[2]}).Scan(&revocationID)
	if err != nil {
		t.Fatal(err)
	}
	// A second revocation that covers nothing: its filter must not see
	// the first one's entries.
	err = conn.QueryRow(ctx, `WITH r AS (INSERT INTO revocations (kind, target, archive_sha256, reason, revoked_at, revoked_by)
			VALUES ('archive', 'y', repeat('b', 64), 'malicious', now(), 'admin') RETURNING id)
		INSERT INTO revocation_events (revocation_id, action, reason, affected_entry_ids, actor, at)
		SELECT id, 'revoked', 'malicious', '{}', 'admin', now() FROM r RETURNING revocation_id`).Scan(&emptyRevocationID)
	if err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	sum := sha256.Sum256([]byte("com.example.app1/1.0.1"))
	tests := []struct {
		name string
		f    ledger.Filter
		want []int // indexes into ids
	}{
		{"app key", ledger.Filter{AppKey: "com.example.app1"}, []int{1, 3, 5}},
		{"version", ledger.Filter{Version: "1.0.0"}, []int{0, 3}},
		{"track", ledger.Filter{Track: ledger.TrackPrivateBuild}, []int{5}},
		{"key id", ledger.Filter{KeyID: "marketplace-signing"}, []int{0, 1, 2, 3, 4, 5}},
		{"key version", ledger.Filter{KeyID: "marketplace-signing", KeyVersion: 2}, []int{1, 3, 5}},
		{"certificate serial", ledger.Filter{CertSerial: "c0"}, []int{0, 2, 4}},
		{"archive sha256", ledger.Filter{SHA256: sum[:]}, []int{1}},
		{"caller", ledger.Filter{Caller: "caller-2"}, []int{2, 5}},
		{"time range", ledger.Filter{SignedFrom: time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC), SignedTo: time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)}, []int{1, 2}},
		{"time range, second page", ledger.Filter{SignedFrom: time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC), SignedTo: time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC), AfterID: ids[1]}, []int{2}},
		{"time range with no entries", ledger.Filter{SignedFrom: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), SignedTo: time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)}, nil},
		{"time range open at the end", ledger.Filter{SignedFrom: time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)}, []int{3, 4, 5}},
		{"revoked", ledger.Filter{Revoked: &yes}, []int{2}},
		{"not revoked", ledger.Filter{Revoked: &no, AppKey: "com.example.app0"}, []int{0, 4}},
		{"revocation id", ledger.Filter{RevocationID: revocationID}, []int{2}},
		{"revocation id covering nothing", ledger.Filter{RevocationID: emptyRevocationID}, nil},
		{"revocation id past the cursor", ledger.Filter{RevocationID: revocationID, AfterID: ids[2]}, nil},
		{"revocation id with another filter", ledger.Filter{RevocationID: revocationID, AppKey: "com.example.app0"}, []int{2}},
		{"revocation id with a filter it fails", ledger.Filter{RevocationID: revocationID, AppKey: "com.example.app1"}, nil},
		{"idempotency key prefix", ledger.Filter{IdempotencyPrefix: "k-"}, []int{0, 1, 2, 3, 4, 5}},
		{"idempotency key prefix, one", ledger.Filter{IdempotencyPrefix: "k-4"}, []int{4}},
		{"idempotency key prefix is not a pattern", ledger.Filter{IdempotencyPrefix: "k-%"}, nil},
		{"combined", ledger.Filter{AppKey: "com.example.app0", Caller: "caller-1"}, []int{4}},
		{"after a cursor", ledger.Filter{AppKey: "com.example.app1", AfterID: ids[1]}, []int{3, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Limit = 10
			got, err := s.List(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs, wantIDs []int64
			for _, e := range got {
				gotIDs = append(gotIDs, e.ID)
				if e.Revoked != (e.ID == ids[2]) {
					t.Errorf("entry %d: revoked = %v", e.ID, e.Revoked)
				}
			}
			for _, i := range tt.want {
				wantIDs = append(wantIDs, ids[i])
			}
			if fmt.Sprint(gotIDs) != fmt.Sprint(wantIDs) {
				t.Errorf("ids %v, want %v", gotIDs, wantIDs)
			}
		})
	}
	for name, f := range map[string]ledger.Filter{
		"version without key": {KeyVersion: 1},
		"short sha256":        {SHA256: []byte{1}},
		"empty time range":    {SignedFrom: time.Unix(10, 0), SignedTo: time.Unix(10, 0)},
		"unknown track":       {Track: "CUSTOM"},
		"limit over the max":  {Limit: ledger.MaxListLimit + 1},
		"negative revocation": {RevocationID: -1},
	} {
		if f.Limit == 0 {
			f.Limit = 10
		}
		if _, err := s.List(ctx, f); !errors.Is(err, ledger.ErrInvalidFilter) {
			t.Errorf("%s: err = %v, want ErrInvalidFilter", name, err)
		}
	}
}

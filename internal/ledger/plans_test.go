package ledger

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/pgtest"
)

// planEntries is how many rows TestFilterPlans records: enough that a
// filter on a rare value costs a table walk without its index.
const planEntries = 3000

// planEntry is the i-th row of TestFilterPlans: every filtered column has
// about a hundred values (each ≈ 1 % of the rows), PRIVATE_BUILD is 2 %,
// and rows are ten minutes apart.
func planEntry(i int) Entry {
	sum := sha256.Sum256(fmt.Appendf(nil, "archive %d", i))
	track := TrackMarketplace
	if i%50 == 0 {
		track = TrackPrivateBuild
	}
	return Entry{
		AppKey: fmt.Sprintf("com.example.app%d", i%100), Version: fmt.Sprintf("1.%d.0", i%7),
		Track: track, ArchiveSize: 1, SHA256: sum[:], SHA512: make([]byte, 64),
		KeyID: fmt.Sprintf("key-%d", i%97), KeyVersion: 1, CertSerial: fmt.Sprintf("%04x", i%89),
		Signature: make([]byte, 64), Caller: fmt.Sprintf("pipeline-%d", i%101), ReviewRef: "r",
		IdempotencyKey: fmt.Sprintf("k-%d", i), Profile: ProfileUPM,
		SignedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 10 * time.Minute),
	}
}

// TestFilterPlans shows that each auditor filter that must not scan the
// table is planned on its index (migrations 00010, 00090, 00110;
// docs/ledger.md, "Indexes and scale"). Sequential scans are disabled, so
// a filter whose index is gone falls back to a primary-key walk or a scan,
// and its plan no longer names the index.
func TestFilterPlans(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	ctx := t.Context()
	if err := Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	const workers = 32
	for w := range workers {
		wg.Go(func() {
			for i := w; i < planEntries; i += workers {
				if _, _, err := s.Record(ctx, planEntry(i)); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE signatures`); err != nil {
		t.Fatal(err)
	}

	rare := planEntry(1234)
	from := rare.SignedAt
	tests := []struct {
		name  string
		f     Filter
		index string // or, after "|", another that serves it
	}{
		{"app key", Filter{AppKey: rare.AppKey}, "signatures_app_key_id_idx"},
		{"app key + version", Filter{AppKey: rare.AppKey, Version: rare.Version}, "signatures_app_key_version_id_idx"},
		{"private builds", Filter{Track: TrackPrivateBuild}, "signatures_private_build_id_idx"},
		{"key id + version", Filter{KeyID: rare.KeyID, KeyVersion: 1}, "signatures_key_id_idx"},
		{"certificate serial", Filter{CertSerial: rare.CertSerial}, "signatures_cert_serial_id_idx"},
		{"archive sha256", Filter{SHA256: rare.SHA256}, "signatures_sha256_hash_idx"},
		{"archive sha256, next page", Filter{SHA256: rare.SHA256, AfterID: 10}, "signatures_sha256_hash_idx"},
		{"caller", Filter{Caller: rare.Caller}, "signatures_caller_id_idx|signatures_caller_idempotency_key_key"},
		{"time range", Filter{SignedFrom: from, SignedTo: from.Add(time.Hour)}, "signatures_signed_at_id_idx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Limit = 100
			query, args, err := s.listQuery(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			plan := explain(t, s, query, args...)
			uses := false
			for index := range strings.SplitSeq(tt.index, "|") {
				uses = uses || strings.Contains(plan, index+" ")
			}
			if !uses || strings.Contains(plan, "Seq Scan on signatures") {
				t.Errorf("plan does not use %s:\n%s", tt.index, plan)
			}
		})
	}
	t.Run("idempotency key", func(t *testing.T) {
		plan := explain(t, s, s.selectEntries()+` WHERE s.caller = $1 AND s.idempotency_key = $2`, rare.Caller, rare.IdempotencyKey)
		if !strings.Contains(plan, "signatures_caller_idempotency_key_key ") {
			t.Errorf("plan does not use the idempotency constraint's index:\n%s", plan)
		}
	})
}

// explain returns the plan of query with args, planned with the values as
// List plans it, sequential scans disabled.
func explain(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	ctx := t.Context()
	var lines []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "EXPLAIN "+query, append([]any{pgx.QueryExecModeExec}, args...)...)
		if err != nil {
			return err
		}
		lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	return strings.Join(lines, "\n")
}

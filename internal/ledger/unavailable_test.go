package ledger_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgtest"
)

func TestStoppedServerIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// A cluster of its own, since this test stops it.
	c := pgtest.Cluster(t)
	url, err := c.CreateDatabase(ctx, "ledger")
	if err != nil {
		t.Fatal(err)
	}
	if err := ledger.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	s, err := ledger.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.Record(ctx, entry("com.example.app", "1.0", "before")); err != nil {
		t.Fatal(err)
	}
	pgtest.Outage(t, c, ledger.ErrUnavailable,
		pgtest.Call{Name: "Ping", Do: func() error { return s.Ping(ctx) }},
		pgtest.Call{Name: "Record", Do: func() error { _, _, err := s.Record(ctx, entry("com.example.app", "1.0", "after")); return err }},
		pgtest.Call{Name: "Get", Do: func() error { _, err := s.Get(ctx, 1); return err }},
		pgtest.Call{Name: "FindByIdempotencyKey", Do: func() error { _, err := s.FindByIdempotencyKey(ctx, "review-pipeline", "before"); return err }},
		pgtest.Call{Name: "List", Do: func() error { _, err := s.List(ctx, ledger.Filter{Limit: 10}); return err }},
		pgtest.Call{Name: "Open", Do: func() error {
			s, err := ledger.Open(ctx, url)
			if err == nil {
				s.Close()
			}
			return err
		}},
		pgtest.Call{Name: "Migrate", Do: func() error { return ledger.Migrate(ctx, url) }},
	)
}

// TestTerminatedSessionsAreUnavailable ends the store's server sessions as an
// administrator (or a failover) would: the next call on such a session fails
// with SQLSTATE 57P01, which must read as unavailable, not as a bad request.
func TestTerminatedSessionsAreUnavailable(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	ctx := t.Context()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	var ended int
	err = admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&ended)
	if err != nil || ended == 0 {
		t.Fatalf("terminate sessions: ended %d, err %v", ended, err)
	}

	_, err = s.Get(ctx, 1)
	if !errors.Is(err, ledger.ErrUnavailable) {
		t.Errorf("Get on a terminated session: err = %v, want ErrUnavailable", err)
	}
	// The pool drops the dead connection and recovers.
	if _, err := s.Get(ctx, 1); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Get after the failure: err = %v, want ErrNotFound", err)
	}
}

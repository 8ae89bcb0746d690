package approvalpg_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/auth/approvalpg"
	"github.com/appsign/signer/internal/auth/approvaltest"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openLedger returns a pool on a fresh, migrated database and the ledger
// on it, whose log the approvals must be written to.
func openLedger(t *testing.T) (*pgxpool.Pool, *ledger.Store) {
	t.Helper()
	return openLedgerAt(t, pgtest.URL(t))
}

// openLedgerAt is openLedger on the empty database at url.
func openLedgerAt(t *testing.T, url string) (*pgxpool.Pool, *ledger.Store) {
	t.Helper()
	if err := ledger.Migrate(t.Context(), url); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	l, err := ledger.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l.Pool(), l
}

// newStore returns a store whose every step is logged, as the service wires it.
func newStore(t *testing.T, opts auth.ApprovalOptions) (*approvalpg.Store, *ledger.Store) {
	t.Helper()
	pool, l := openLedger(t)
	s := approvalpg.New(pool, opts)
	s.OnRequest, s.OnApprove, s.OnConsume = l.ApprovalHooks()
	return s, l
}

func TestConformance(t *testing.T) {
	approvaltest.Run(t, func(t *testing.T, opts auth.ApprovalOptions) auth.Approvals {
		s, _ := newStore(t, opts)
		return s
	})
}

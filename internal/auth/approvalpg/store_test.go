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

// openPool returns a pool on a fresh database with every migration applied.
func openPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	url := pgtest.URL(t)
	if err := ledger.Migrate(t.Context(), url); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestConformance(t *testing.T) {
	approvaltest.Run(t, func(t *testing.T, opts auth.ApprovalOptions) auth.Approvals {
		return approvalpg.New(openPool(t), opts)
	})
}

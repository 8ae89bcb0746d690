package approvalpg_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/auth/approvalpg"
)

var (
	alice = auth.Identity{Subject: "spiffe://appsign/security-admin/alice", Roles: []auth.Role{auth.RoleSecurityAdmin}}
	bob   = auth.Identity{Subject: "spiffe://appsign/security-admin/bob", Roles: []auth.Role{auth.RoleSecurityAdmin}}
	req   = auth.ApprovalRequest{Action: "key.revoke", Target: "marketplace-signing/3"}
)

// TestSchemaEnforcesTheRule: even SQL that bypasses the store cannot
// self-approve, rewrite a request, undo an approval or delete the record.
func TestSchemaEnforcesTheRule(t *testing.T) {
	pool := openPool(t)
	s := approvalpg.New(pool, auth.ApprovalOptions{})
	a, err := s.Request(t.Context(), alice, req)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		sql  string
		code string
	}{
		{"self-approval", `UPDATE approvals SET approved_by = requested_by, approved_at = now() WHERE id = $1`, "23514"},
		{"use without approval", `UPDATE approvals SET consumed_at = now() WHERE id = $1`, "23514"},
		{"rewrite the target", `UPDATE approvals SET target = 'ca/1' WHERE id = $1`, "23000"},
		{"delete", `DELETE FROM approvals WHERE id = $1`, "23000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pool.Exec(t.Context(), tt.sql, a.ID)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != tt.code {
				t.Fatalf("%s: %v, want SQLSTATE %s", tt.sql, err, tt.code)
			}
		})
	}
	if _, err := s.Approve(t.Context(), bob, a.ID); err != nil {
		t.Fatal(err)
	}
	_, err = pool.Exec(t.Context(), `UPDATE approvals SET approved_by = 'spiffe://appsign/security-admin/carol' WHERE id = $1`, a.ID)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23000" {
		t.Fatalf("replace the approver: %v, want SQLSTATE 23000", err)
	}
}

// TestConsumeTxRollsBack: an approval used in a transaction that rolls back
// stays usable.
func TestConsumeTxRollsBack(t *testing.T) {
	pool := openPool(t)
	s := approvalpg.New(pool, auth.ApprovalOptions{})
	a, err := s.Request(t.Context(), alice, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Approve(t.Context(), bob, a.ID); err != nil {
		t.Fatal(err)
	}
	errAction := errors.New("the authorized action failed")
	err = pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		if _, err := s.ConsumeTx(t.Context(), tx, alice, a.ID, req.Action, req.Target); err != nil {
			return err
		}
		return errAction
	})
	if !errors.Is(err, errAction) {
		t.Fatalf("transaction: %v", err)
	}
	if got, err := s.Get(t.Context(), a.ID); err != nil || !got.ConsumedAt.IsZero() {
		t.Fatalf("after rollback: %+v, %v; want unused", got, err)
	}
	if _, err := s.Consume(t.Context(), alice, a.ID, req.Action, req.Target); err != nil {
		t.Fatalf("Consume after rollback: %v", err)
	}
}

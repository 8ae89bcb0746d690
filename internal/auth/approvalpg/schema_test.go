package approvalpg_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/appsign/signer/internal/auth"
)

var (
	alice = auth.Identity{Subject: "spiffe://appsign/security-admin/alice", Roles: []auth.Role{auth.RoleSecurityAdmin}}
	bob   = auth.Identity{Subject: "spiffe://appsign/security-admin/bob", Roles: []auth.Role{auth.RoleSecurityAdmin}}
	req   = auth.ApprovalRequest{Action: "key.revoke", Target: "marketplace-signing/3"}
)

// TestSchemaEnforcesTheRule plays a requester holding the service's
// database credentials (a role with the service's grants on approvals):
// no SQL self-approves, approves for a look-alike of the requester,
// approves and uses in one step, inserts a ready-made approval, approves
// outside the request's lifetime, approves as someone else without the
// step in the transparency log, rewrites the approved parameters or
// their hash, undoes an approval or deletes the record.
func TestSchemaEnforcesTheRule(t *testing.T) {
	s, l := newStore(t, auth.ApprovalOptions{})
	pool := l.Pool()
	a, err := s.Request(t.Context(), alice, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(t.Context(), `CREATE ROLE signer_service NOLOGIN;
		GRANT SELECT, INSERT, UPDATE, DELETE ON approvals TO signer_service`); err != nil {
		t.Fatal(err)
	}
	asService := func(t *testing.T, sql string, args ...any) error {
		return pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(t.Context(), `SET LOCAL ROLE signer_service`); err != nil {
				t.Fatal(err)
			}
			_, err := tx.Exec(t.Context(), sql, args...)
			return err
		})
	}
	const bobID = "'spiffe://appsign/security-admin/bob'"
	tests := []struct {
		name string
		sql  string
		code string
	}{
		{"self-approval", `UPDATE approvals SET approved_by = requested_by, approved_at = requested_at WHERE id = $1`, "23514"},
		{"self-approval with a trailing space", `UPDATE approvals SET approved_by = requested_by || ' ', approved_at = requested_at WHERE id = $1`, "23514"},
		{"self-approval in capitals", `UPDATE approvals SET approved_by = upper(requested_by), approved_at = requested_at WHERE id = $1`, "23514"},
		{"use without approval", `UPDATE approvals SET consumed_at = requested_at WHERE id = $1`, "23000"},
		{"approve as a made-up second admin", `UPDATE approvals SET approved_by = 'spiffe://appsign/security-admin/mallory', approved_at = requested_at WHERE id = $1`, "23000"},
		{"approve and use in one step", `UPDATE approvals SET approved_by = ` + bobID + `, approved_at = requested_at, consumed_at = requested_at WHERE id = $1`, "23000"},
		{"approve after expiry", `UPDATE approvals SET approved_by = ` + bobID + `, approved_at = expires_at WHERE id = $1`, "23514"},
		{"approve before the request", `UPDATE approvals SET approved_by = ` + bobID + `, approved_at = requested_at - interval '1 hour' WHERE id = $1`, "23514"},
		{"rewrite the target", `UPDATE approvals SET target = 'ca/1' WHERE id = $1`, "23000"},
		{"rewrite the parameters' hash", `UPDATE approvals SET params_sha256 = repeat('0', 64) WHERE id = $1`, "23000"},
		{"delete", `DELETE FROM approvals WHERE id = $1`, "23000"},
		{"insert a ready-made approval", `INSERT INTO approvals (id, action, target, reason, params_sha256, requested_by, requested_at, expires_at, approved_by, approved_at)
			SELECT repeat('e', 32), action, target, reason, params_sha256, requested_by, requested_at, expires_at, ` + bobID + `, requested_at
			FROM approvals WHERE id = $1`, "23000"},
		{"insert a request with a forged hash", `INSERT INTO approvals (id, action, target, reason, params_sha256, requested_by, requested_at, expires_at)
			SELECT repeat('f', 32), action, 'another target', reason, params_sha256, requested_by, requested_at, expires_at
			FROM approvals WHERE id = $1`, "23514"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := asService(t, tt.sql, a.ID)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != tt.code {
				t.Fatalf("%s: %v, want SQLSTATE %s", tt.sql, err, tt.code)
			}
		})
	}
	if got, err := s.Get(t.Context(), a.ID); err != nil || got.ApprovedBy != "" || !got.ConsumedAt.IsZero() || got.Target != req.Target {
		t.Fatalf("after the attempts: %+v, %v; want the request unchanged", got, err)
	}
	if _, err := s.Approve(t.Context(), bob, a.ID); err != nil {
		t.Fatal(err)
	}
	err = asService(t, `UPDATE approvals SET approved_by = 'spiffe://appsign/security-admin/carol' WHERE id = $1`, a.ID)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23000" {
		t.Fatalf("replace the approver: %v, want SQLSTATE 23000", err)
	}
}

// TestConsumeTxRollsBack: an approval used in a transaction that rolls back
// stays usable.
func TestConsumeTxRollsBack(t *testing.T) {
	s, l := newStore(t, auth.ApprovalOptions{})
	pool := l.Pool()
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

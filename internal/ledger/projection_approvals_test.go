package ledger_test

import (
	"context"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/auth/approvalpg"
	"github.com/appsign/signer/internal/ledger"
)

// TestApprovalsProjection: a used two-person approval is a leaf, and the
// used approvals row is recomputed from it; a DBA who rewrites who
// approved (to hide a self-approval) or the target, or who marks an
// unlogged approval used, is named.
func TestApprovalsProjection(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	store := approvalpg.New(s.Pool(), auth.ApprovalOptions{})
	store.OnRequest, store.OnApprove, store.OnConsume = s.ApprovalHooks()
	alice := auth.Identity{Subject: "spiffe://appsign/admin/alice", Roles: []auth.Role{auth.RoleSecurityAdmin}}
	bob := auth.Identity{Subject: "spiffe://appsign/admin/bob", Roles: []auth.Role{auth.RoleSecurityAdmin}}
	a, err := store.Request(ctx, alice, auth.ApprovalRequest{Action: "key.revoke", Target: "app-signing/1", Reason: "stolen"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Approve(ctx, bob, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Consume(ctx, alice, a.ID, "key.revoke", "app-signing/1"); err != nil {
		t.Fatal(err)
	}
	pending, err := store.Request(ctx, alice, auth.ApprovalRequest{Action: "key.revoke", Target: "app-signing/2"})
	if err != nil {
		t.Fatal(err)
	}
	p := project(t, s)
	db, err := s.ReadProjections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f := p.Compare(db.Tables); len(f) != 0 || len(db.Tables[ledger.TableApprovals]) != 1 {
		t.Fatalf("untouched: findings %v, %d used approvals", f, len(db.Tables[ledger.TableApprovals]))
	}
	tests := []struct {
		name, sql, want string
	}{
		{"approver rewritten", `UPDATE approvals SET approved_by = 'spiffe://appsign/admin/mallory' WHERE id = '` + a.ID + `'`,
			`approvals ` + a.ID + ` differs from the log: approved_by is "spiffe://appsign/admin/mallory", the log says "spiffe://appsign/admin/bob"`},
		{"target rewritten", `UPDATE approvals SET target = 'app-signing/9', params_sha256 = '` + auth.ApprovalParamsSHA256("key.revoke", "app-signing/9") + `' WHERE id = '` + a.ID + `'`,
			`approvals ` + a.ID + ` differs from the log: target is "app-signing/9"`},
		{"unlogged use", `UPDATE approvals SET approved_by = 'x', approved_at = now(), consumed_at = now() WHERE id = '` + pending.ID + `'`,
			`approvals ` + pending.ID + `: no log leaf records it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := s.Pool().Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
			for _, q := range []string{`SET LOCAL session_replication_role = replica`, tt.sql} {
				if _, err := tx.Exec(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			db, err := ledger.ReadProjectionsTx(ctx, tx)
			if err != nil {
				t.Fatal(err)
			}
			f := p.Compare(db.Tables)
			if len(f) != 1 || !strings.Contains(f[0].String(), tt.want) {
				t.Fatalf("findings %v; want one containing %q", f, tt.want)
			}
		})
	}
}

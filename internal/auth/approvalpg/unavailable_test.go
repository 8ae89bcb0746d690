package approvalpg_test

import (
	"testing"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/auth/approvalpg"
	"github.com/appsign/signer/internal/pgtest"
)

// TestStoppedDatabaseIsUnavailable: with its database stopped, every call
// fails with auth.ErrApprovalsUnavailable (the server answers Unavailable:
// retry). Before the store classified database errors, an outage here
// reached clients as Internal.
func TestStoppedDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := pgtest.Cluster(t) // its own server, since the test stops it
	url, err := c.CreateDatabase(ctx, "approvals")
	if err != nil {
		t.Fatal(err)
	}
	pool, l := openLedgerAt(t, url)
	s := approvalpg.New(pool, auth.ApprovalOptions{})
	s.OnRequest, s.OnApprove, s.OnConsume = l.ApprovalHooks()
	alice := auth.Identity{Subject: "alice", Roles: []auth.Role{auth.RoleSecurityAdmin}}
	bob := auth.Identity{Subject: "bob", Roles: []auth.Role{auth.RoleSecurityAdmin}}
	a, err := s.Request(ctx, alice, auth.ApprovalRequest{Action: "rotate-ca-key", Target: "ca", Reason: "scheduled"})
	if err != nil {
		t.Fatal(err)
	}
	pgtest.Outage(t, c, auth.ErrApprovalsUnavailable,
		pgtest.Call{Name: "Get", Do: func() error { _, err := s.Get(ctx, a.ID); return err }},
		pgtest.Call{Name: "Request", Do: func() error {
			_, err := s.Request(ctx, alice, auth.ApprovalRequest{Action: "rotate-ca-key", Target: "ca", Reason: "again"})
			return err
		}},
		pgtest.Call{Name: "Approve", Do: func() error { _, err := s.Approve(ctx, bob, a.ID); return err }},
		pgtest.Call{Name: "Consume", Do: func() error { _, err := s.Consume(ctx, alice, a.ID, "rotate-ca-key", "ca"); return err }},
	)
}

package approvalpg_test

import (
	"errors"
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
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	calls := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := s.Get(ctx, a.ID); return err }},
		{"Request", func() error {
			_, err := s.Request(ctx, alice, auth.ApprovalRequest{Action: "rotate-ca-key", Target: "ca", Reason: "again"})
			return err
		}},
		{"Approve", func() error { _, err := s.Approve(ctx, bob, a.ID); return err }},
		{"Consume", func() error { _, err := s.Consume(ctx, alice, a.ID, "rotate-ca-key", "ca"); return err }},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, auth.ErrApprovalsUnavailable) {
				t.Errorf("err = %v, want auth.ErrApprovalsUnavailable", err)
			}
		})
	}
}

package auth

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// The two-person rule's decisions, played by the insider it is meant to
// stop: a security admin who wants to act alone, reuse an approval, stretch
// it to another target, or use it late. The store (approvalpg) runs the
// same rules through approvaltest; these tests pin the rules themselves.

var (
	ruleStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	alice     = Identity{Subject: "spiffe://appsign/admin/alice", Roles: []Role{RoleSecurityAdmin}}
	bob       = Identity{Subject: "spiffe://appsign/admin/bob", Roles: []Role{RoleSecurityAdmin}}
	// suspendedAlice has alice's subject but not the role (a suspended admin).
	suspendedAlice = Identity{Subject: alice.Subject}
	auditor        = Identity{Subject: "spiffe://appsign/audit/carol", Roles: []Role{RoleAuditor}}
)

// clock is a settable clock for ApprovalOptions.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func ruleOptions(c *clock) ApprovalOptions {
	return ApprovalOptions{TTL: time.Hour, Now: c.now, Rand: bytes.NewReader(bytes.Repeat([]byte{0xab}, 64))}
}

var revokeKey = ApprovalRequest{Action: "key.revoke", Target: "marketplace-signing/3", Reason: "key found on a build host"}

func TestNewApprovalRules(t *testing.T) {
	tests := []struct {
		name    string
		by      Identity
		req     ApprovalRequest
		wantErr error // nil: accepted
	}{
		{"security admin", alice, revokeKey, nil},
		{"auditor may not request", auditor, revokeKey, ErrPermissionDenied},
		{"suspended admin may not request", suspendedAlice, revokeKey, ErrPermissionDenied},
		{"action of 64 characters", alice, ApprovalRequest{Action: strings.Repeat("a", 64), Target: "t"}, nil},
		{"action of 65 characters", alice, ApprovalRequest{Action: strings.Repeat("a", 65), Target: "t"}, ErrInvalidApproval},
		{"empty action", alice, ApprovalRequest{Target: "t"}, ErrInvalidApproval},
		{"action with upper case", alice, ApprovalRequest{Action: "Key.revoke", Target: "t"}, ErrInvalidApproval},
		{"target of 1024 characters", alice, ApprovalRequest{Action: "a", Target: strings.Repeat("t", 1024)}, nil},
		{"target of 1025 characters", alice, ApprovalRequest{Action: "a", Target: strings.Repeat("t", 1025)}, ErrInvalidApproval},
		{"target starting with a space", alice, ApprovalRequest{Action: "a", Target: " t"}, ErrInvalidApproval},
		{"empty target", alice, ApprovalRequest{Action: "a"}, ErrInvalidApproval},
		{"reason of 1024 characters", alice, ApprovalRequest{Action: "a", Target: "t", Reason: strings.Repeat("é", 1024)}, nil},
		{"reason of 1025 characters", alice, ApprovalRequest{Action: "a", Target: "t", Reason: strings.Repeat("é", 1025)}, ErrInvalidApproval},
		{"reason with a newline", alice, ApprovalRequest{Action: "a", Target: "t", Reason: "a\nb"}, ErrInvalidApproval},
		{"reason not UTF-8", alice, ApprovalRequest{Action: "a", Target: "t", Reason: "a\xffb"}, ErrInvalidApproval},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{ruleStart}
			a, err := NewApproval(tt.by, tt.req, ruleOptions(c))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || a.ID != "" {
					t.Fatalf("NewApproval = %+v, %v; want %v", a, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewApproval: %v", err)
			}
			if !ValidApprovalID(a.ID) || a.RequestedBy != tt.by.Subject || a.ApprovalRequest != tt.req {
				t.Errorf("NewApproval = %+v", a)
			}
			if !a.RequestedAt.Equal(ruleStart) || !a.ExpiresAt.Equal(ruleStart.Add(time.Hour)) {
				t.Errorf("requested %s, expires %s; want %s and an hour later", a.RequestedAt, a.ExpiresAt, ruleStart)
			}
		})
	}
}

func TestNewApprovalDefaults(t *testing.T) {
	for _, ttl := range []time.Duration{0, -time.Hour} {
		c := &clock{ruleStart}
		o := ruleOptions(c)
		o.TTL = ttl
		a, err := NewApproval(alice, revokeKey, o)
		if err != nil {
			t.Fatal(err)
		}
		// docs/api.md: "Approvals expire after 24 hours."
		if got := a.ExpiresAt.Sub(a.RequestedAt); got != 24*time.Hour {
			t.Errorf("TTL %s: approval lasts %s, want the default 24h", ttl, got)
		}
	}
	// No clock and no randomness given: the real ones.
	a, err := NewApproval(alice, revokeKey, ApprovalOptions{})
	if err != nil || !ValidApprovalID(a.ID) || time.Since(a.RequestedAt) < 0 || a.RequestedAt.Location() != time.UTC {
		t.Errorf("NewApproval with zero options = %+v, %v", a, err)
	}
	// Randomness that runs dry is an error, not a predictable ID.
	if _, err := NewApproval(alice, revokeKey, ApprovalOptions{Rand: bytes.NewReader(make([]byte, 15))}); err == nil {
		t.Error("NewApproval with 15 bytes of randomness succeeded")
	}
}

func TestApprovalApproveRules(t *testing.T) {
	c := &clock{ruleStart}
	o := ruleOptions(c)
	fresh, err := NewApproval(alice, revokeKey, o)
	if err != nil {
		t.Fatal(err)
	}
	approved, err := fresh.Approve(bob, o)
	if err != nil {
		t.Fatal(err)
	}
	consumed, err := approved.Consume(alice, revokeKey.Action, revokeKey.Target, o)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		a       Approval
		by      Identity
		at      time.Time
		wantErr error
	}{
		{"second admin, in time", fresh, bob, ruleStart.Add(time.Hour - time.Microsecond), nil},
		{"requester approves own request", fresh, alice, ruleStart, ErrSelfApproval},
		{"requester's subject without the role", fresh, suspendedAlice, ruleStart, ErrPermissionDenied},
		{"auditor approves", fresh, auditor, ruleStart, ErrPermissionDenied},
		{"approved twice", approved, bob, ruleStart, ErrAlreadyApproved},
		{"approved after use", consumed, bob, ruleStart, ErrAlreadyConsumed},
		{"approved at expiry", fresh, bob, ruleStart.Add(time.Hour), ErrApprovalExpired},
		{"approved after expiry", fresh, bob, ruleStart.Add(2 * time.Hour), ErrApprovalExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = tt.at
			got, err := tt.a.Approve(tt.by, o)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || got != tt.a {
					t.Fatalf("Approve = %+v, %v; want %v and the approval unchanged", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Approve: %v", err)
			}
			if got.ApprovedBy != tt.by.Subject || !got.ApprovedAt.Equal(tt.at) {
				t.Errorf("Approve = %+v; want approved by %s at %s", got, tt.by.Subject, tt.at)
			}
		})
	}
}

func TestApprovalConsumeRules(t *testing.T) {
	c := &clock{ruleStart}
	o := ruleOptions(c)
	fresh, err := NewApproval(alice, revokeKey, o)
	if err != nil {
		t.Fatal(err)
	}
	approved, err := fresh.Approve(bob, o)
	if err != nil {
		t.Fatal(err)
	}
	consumed, err := approved.Consume(alice, revokeKey.Action, revokeKey.Target, o)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		a              Approval
		by             Identity
		action, target string
		at             time.Time
		wantErr        error
	}{
		{"requester, in time", approved, alice, revokeKey.Action, revokeKey.Target, ruleStart.Add(time.Hour - time.Microsecond), nil},
		{"approver uses it", approved, bob, revokeKey.Action, revokeKey.Target, ruleStart, ErrPermissionDenied},
		{"requester's subject without the role", approved, suspendedAlice, revokeKey.Action, revokeKey.Target, ruleStart, ErrPermissionDenied},
		{"another action", approved, alice, "ca.rotate", revokeKey.Target, ruleStart, ErrApprovalMismatch},
		{"another target", approved, alice, revokeKey.Action, "marketplace-signing/4", ruleStart, ErrApprovalMismatch},
		{"used twice", consumed, alice, revokeKey.Action, revokeKey.Target, ruleStart, ErrAlreadyConsumed},
		{"not approved", fresh, alice, revokeKey.Action, revokeKey.Target, ruleStart, ErrNotApproved},
		{"used at expiry", approved, alice, revokeKey.Action, revokeKey.Target, ruleStart.Add(time.Hour), ErrApprovalExpired},
		{"used after expiry", approved, alice, revokeKey.Action, revokeKey.Target, ruleStart.Add(25 * time.Hour), ErrApprovalExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = tt.at
			got, err := tt.a.Consume(tt.by, tt.action, tt.target, o)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || got != tt.a {
					t.Fatalf("Consume = %+v, %v; want %v and the approval unchanged", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Consume: %v", err)
			}
			if !got.ConsumedAt.Equal(tt.at) {
				t.Errorf("ConsumedAt = %s, want %s", got.ConsumedAt, tt.at)
			}
		})
	}
}

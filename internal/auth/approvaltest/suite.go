package approvaltest

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appsign/signer/internal/auth"
)

// TTL is the approval lifetime the suite configures.
const TTL = time.Hour

// Open returns an empty store configured with opts (TTL and clock).
type Open func(t *testing.T, opts auth.ApprovalOptions) auth.Approvals

// Identities used by the suite.
var (
	alice = auth.Identity{Subject: "spiffe://appsign/security-admin/alice", Roles: []auth.Role{auth.RoleSecurityAdmin}}
	bob   = auth.Identity{Subject: "spiffe://appsign/security-admin/bob", Roles: []auth.Role{auth.RoleSecurityAdmin}}
	carol = auth.Identity{Subject: "spiffe://appsign/security-admin/carol", Roles: []auth.Role{auth.RoleSecurityAdmin}}
	// aliceAgain has alice's subject under another rule of the policy: it is
	// still alice.
	aliceAgain = auth.Identity{Subject: alice.Subject, Roles: []auth.Role{auth.RoleSecurityAdmin, auth.RoleAuditor}}
	auditor    = auth.Identity{Subject: "spiffe://appsign/auditor/dave", Roles: []auth.Role{auth.RoleAuditor}}
)

var revoke = auth.ApprovalRequest{Action: "key.revoke", Target: "marketplace-signing/3", Reason: "key material exposed in INC-42"}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Run checks open's stores against the contract of auth.Approvals.
func Run(t *testing.T, open Open) {
	setup := func(t *testing.T) (auth.Approvals, *clock) {
		c := &clock{now: time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))}
		return open(t, auth.ApprovalOptions{TTL: TTL, Now: c.Now}), c
	}
	mustRequest := func(t *testing.T, s auth.Approvals) auth.Approval {
		t.Helper()
		a, err := s.Request(t.Context(), alice, revoke)
		if err != nil {
			t.Fatalf("Request: %v", err)
		}
		return a
	}

	t.Run("two-person flow records both identities", func(t *testing.T) {
		s, c := setup(t)
		a := mustRequest(t, s)
		if !auth.ValidApprovalID(a.ID) || a.RequestedBy != alice.Subject || a.ApprovalRequest != revoke {
			t.Fatalf("requested %+v", a)
		}
		if want := c.Now().UTC().Truncate(time.Microsecond); !a.RequestedAt.Equal(want) || !a.ExpiresAt.Equal(want.Add(TTL)) {
			t.Fatalf("RequestedAt %v ExpiresAt %v, want %v + %v", a.RequestedAt, a.ExpiresAt, want, TTL)
		}
		c.Advance(time.Minute)
		approved, err := s.Approve(t.Context(), bob, a.ID)
		if err != nil {
			t.Fatalf("Approve by bob: %v", err)
		}
		if approved.ApprovedBy != bob.Subject || !approved.ApprovedAt.Equal(c.Now().UTC().Truncate(time.Microsecond)) {
			t.Fatalf("approved %+v", approved)
		}
		c.Advance(time.Minute)
		used, err := s.Consume(t.Context(), alice, a.ID, revoke.Action, revoke.Target)
		if err != nil {
			t.Fatalf("Consume by alice: %v", err)
		}
		got, err := s.Get(t.Context(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !equal(got, used) || got.RequestedBy != alice.Subject || got.ApprovedBy != bob.Subject || got.ConsumedAt.IsZero() {
			t.Fatalf("stored %+v\nwant   %+v", got, used)
		}
	})

	t.Run("parameters hash and second person, whatever the spelling", func(t *testing.T) {
		s, _ := setup(t)
		a := mustRequest(t, s)
		if a.ParamsSHA256 != auth.ApprovalParamsSHA256(revoke.Action, revoke.Target) {
			t.Fatalf("ParamsSHA256 = %q, want the hash of action and target", a.ParamsSHA256)
		}
		for _, subject := range []string{strings.ToUpper(alice.Subject), " " + alice.Subject, alice.Subject + "\t"} {
			lookAlike := auth.Identity{Subject: subject, Roles: []auth.Role{auth.RoleSecurityAdmin}}
			if _, err := s.Approve(t.Context(), lookAlike, a.ID); !errors.Is(err, auth.ErrSelfApproval) {
				t.Fatalf("approval by %q (the requester %q): %v, want ErrSelfApproval", subject, alice.Subject, err)
			}
		}
		if got, err := s.Get(t.Context(), a.ID); err != nil || got.ParamsSHA256 != a.ParamsSHA256 || got.ApprovedBy != "" {
			t.Fatalf("stored %+v, %v", got, err)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		type step struct {
			name string
			do   func(s auth.Approvals, id string) error
			want error
		}
		approve := func(by auth.Identity) func(auth.Approvals, string) error {
			return func(s auth.Approvals, id string) error { _, err := s.Approve(t.Context(), by, id); return err }
		}
		consume := func(by auth.Identity, action, target string) func(auth.Approvals, string) error {
			return func(s auth.Approvals, id string) error {
				_, err := s.Consume(t.Context(), by, id, action, target)
				return err
			}
		}
		s, _ := setup(t)
		a := mustRequest(t, s)
		steps := []step{
			{"requester approves", approve(alice), auth.ErrSelfApproval},
			{"requester under another rule approves", approve(aliceAgain), auth.ErrSelfApproval},
			{"auditor approves", approve(auditor), auth.ErrPermissionDenied},
			{"used before approval", consume(alice, revoke.Action, revoke.Target), auth.ErrNotApproved},
			{"second admin approves", approve(bob), nil},
			{"third admin approves again", approve(carol), auth.ErrAlreadyApproved},
			{"approver uses it", consume(bob, revoke.Action, revoke.Target), auth.ErrPermissionDenied},
			{"used for another target", consume(alice, revoke.Action, "marketplace-signing/4"), auth.ErrApprovalMismatch},
			{"used for another action", consume(alice, "key.retire", revoke.Target), auth.ErrApprovalMismatch},
			{"requester uses it", consume(alice, revoke.Action, revoke.Target), nil},
			{"used twice", consume(alice, revoke.Action, revoke.Target), auth.ErrAlreadyConsumed},
			{"approved after use", approve(carol), auth.ErrAlreadyConsumed},
		}
		for _, st := range steps {
			if err := st.do(s, a.ID); !errors.Is(err, st.want) || (st.want == nil) != (err == nil) {
				t.Fatalf("%s: %v, want %v", st.name, err, st.want)
			}
		}
	})

	t.Run("requests", func(t *testing.T) {
		s, _ := setup(t)
		tests := []struct {
			name string
			by   auth.Identity
			req  auth.ApprovalRequest
			want error
		}{
			{"auditor", auditor, revoke, auth.ErrPermissionDenied},
			{"no action", alice, auth.ApprovalRequest{Target: "x"}, auth.ErrInvalidApproval},
			{"action with spaces", alice, auth.ApprovalRequest{Action: "key revoke", Target: "x"}, auth.ErrInvalidApproval},
			{"no target", alice, auth.ApprovalRequest{Action: "key.revoke"}, auth.ErrInvalidApproval},
			{"control character in reason", alice, auth.ApprovalRequest{Action: "key.revoke", Target: "x", Reason: "a\nb"}, auth.ErrInvalidApproval},
			{"unicode reason", alice, auth.ApprovalRequest{Action: "key.revoke", Target: "x", Reason: "Schlüssel kompromittiert"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a, err := s.Request(t.Context(), tt.by, tt.req)
				if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
					t.Fatalf("Request: %v, want %v", err, tt.want)
				}
				if err == nil {
					if got, err := s.Get(t.Context(), a.ID); err != nil || !equal(got, a) {
						t.Fatalf("Get = %+v, %v; want %+v", got, err, a)
					}
				}
			})
		}
	})

	t.Run("expiry", func(t *testing.T) {
		s, c := setup(t)
		late := mustRequest(t, s)
		inTime := mustRequest(t, s)
		if late.ID == inTime.ID {
			t.Fatal("two requests got one ID")
		}
		c.Advance(TTL - time.Second)
		if _, err := s.Approve(t.Context(), bob, inTime.ID); err != nil {
			t.Fatalf("Approve in time: %v", err)
		}
		c.Advance(time.Second)
		if _, err := s.Approve(t.Context(), bob, late.ID); !errors.Is(err, auth.ErrApprovalExpired) {
			t.Fatalf("Approve at expiry: %v, want ErrApprovalExpired", err)
		}
		if _, err := s.Consume(t.Context(), alice, inTime.ID, revoke.Action, revoke.Target); !errors.Is(err, auth.ErrApprovalExpired) {
			t.Fatalf("Consume at expiry: %v, want ErrApprovalExpired", err)
		}
	})

	t.Run("unknown ids", func(t *testing.T) {
		s, _ := setup(t)
		for _, id := range []string{"0123456789abcdef0123456789abcdef", "not-an-id", ""} {
			if _, err := s.Get(t.Context(), id); !errors.Is(err, auth.ErrApprovalNotFound) {
				t.Errorf("Get(%q): %v", id, err)
			}
			if _, err := s.Approve(t.Context(), bob, id); !errors.Is(err, auth.ErrApprovalNotFound) {
				t.Errorf("Approve(%q): %v", id, err)
			}
			if _, err := s.Consume(t.Context(), alice, id, revoke.Action, revoke.Target); !errors.Is(err, auth.ErrApprovalNotFound) {
				t.Errorf("Consume(%q): %v", id, err)
			}
		}
	})

	t.Run("concurrent use succeeds once", func(t *testing.T) {
		s, _ := setup(t)
		a := mustRequest(t, s)
		if _, err := s.Approve(t.Context(), bob, a.ID); err != nil {
			t.Fatal(err)
		}
		const n = 16
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				_, err := s.Consume(t.Context(), alice, a.ID, revoke.Action, revoke.Target)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, auth.ErrAlreadyConsumed):
				t.Errorf("losing Consume: %v, want ErrAlreadyConsumed", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d concurrent Consumes succeeded, want 1", won)
		}
	})
}

// equal compares approvals with time.Time.Equal.
func equal(a, b auth.Approval) bool {
	return a.ID == b.ID && a.ApprovalRequest == b.ApprovalRequest &&
		a.RequestedBy == b.RequestedBy && a.RequestedAt.Equal(b.RequestedAt) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.ApprovedBy == b.ApprovedBy && a.ApprovedAt.Equal(b.ApprovedAt) && a.ConsumedAt.Equal(b.ConsumedAt)
}

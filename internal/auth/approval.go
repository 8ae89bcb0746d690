package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"
	"unicode/utf8"
)

// Errors of the two-person rule.
var (
	ErrApprovalNotFound = errors.New("auth: approval not found")
	ErrInvalidApproval  = errors.New("auth: invalid approval request")
	ErrSelfApproval     = errors.New("auth: an approval needs a second security admin")
	ErrAlreadyApproved  = errors.New("auth: approval already approved")
	ErrNotApproved      = errors.New("auth: approval not approved yet")
	ErrAlreadyConsumed  = errors.New("auth: approval already used")
	ErrApprovalExpired  = errors.New("auth: approval expired")
	ErrApprovalMismatch = errors.New("auth: approval is for another action or target")
	// ErrApprovalsUnavailable means the approvals store cannot be reached
	// (its database is down or failing over); the call may succeed later.
	ErrApprovalsUnavailable = errors.New("auth: approvals store unavailable")
)

// DefaultApprovalTTL is how long an approval request stays usable.
const DefaultApprovalTTL = 24 * time.Hour

// ApprovalRequest names an action that needs two security admins.
type ApprovalRequest struct {
	// Action is what will be done, e.g. "key.revoke" or "ca.rotate":
	// 1-64 characters from [a-z0-9._-].
	Action string
	// Target is what it is done to, with every parameter that matters
	// (ApprovalTarget gives the canonical form the service's actions use):
	// 1-1024 printable ASCII characters. The approval is usable only for
	// exactly this action and target.
	Target string
	// Reason is why, for auditors: up to 1024 printable characters.
	Reason string
}

// Approval is one use of the two-person rule: a security admin requests an
// action, a different security admin approves it, and the requester uses
// (consumes) it once, before it expires. Both identities are recorded.
type Approval struct {
	ID string
	ApprovalRequest
	// ParamsSHA256 is ApprovalParamsSHA256(Action, Target): what the
	// approver approves and the log records at every step.
	ParamsSHA256 string
	RequestedBy  string
	RequestedAt  time.Time
	ExpiresAt    time.Time
	// ApprovedBy and ApprovedAt are zero until approved.
	ApprovedBy string
	ApprovedAt time.Time
	// ConsumedAt is zero until the approval is used.
	ConsumedAt time.Time
}

// Approvals stores approvals and enforces the two-person rule atomically:
// of concurrent Approve or Consume calls on one approval, one wins.
type Approvals interface {
	// Request records a new approval requested by by, a security admin.
	Request(ctx context.Context, by Identity, req ApprovalRequest) (Approval, error)
	// Approve records by's approval; by must be a security admin other than
	// the requester.
	Approve(ctx context.Context, by Identity, id string) (Approval, error)
	// Consume marks an approved approval used, once. by must be the
	// requester, and action and target must be those approved.
	Consume(ctx context.Context, by Identity, id, action, target string) (Approval, error)
	// Get returns an approval.
	Get(ctx context.Context, id string) (Approval, error)
}

// ApprovalOptions configures an Approvals implementation.
type ApprovalOptions struct {
	// TTL is how long after the request an approval can be approved and
	// used; 0 means DefaultApprovalTTL.
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand makes approval IDs; nil means crypto/rand.
	Rand io.Reader
}

// WithDefaults fills the zero fields of o.
func (o ApprovalOptions) WithDefaults() ApprovalOptions {
	if o.TTL <= 0 {
		o.TTL = DefaultApprovalTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return o
}

// now returns the clock's time as stores keep it: UTC, microseconds.
func (o ApprovalOptions) now() time.Time { return o.Now().UTC().Truncate(time.Microsecond) }

// maxApprovalTarget bounds an approval's target (the database checks it too).
const maxApprovalTarget = 1024

var (
	approvalActionRE = regexp.MustCompile(`^[a-z0-9._-]{1,64}$`)
	approvalTargetRE = regexp.MustCompile(`^[\x21-\x7e][\x20-\x7e]*$`)
	approvalReasonRE = regexp.MustCompile(`^[^\x00-\x1f\x7f]*$`)
	approvalIDRE     = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// ValidApprovalID reports whether id has the form of an approval ID.
func ValidApprovalID(id string) bool { return approvalIDRE.MatchString(id) }

// NewApproval checks a request by by and returns the approval to store.
// Implementations of Approvals call it, so that all enforce the same rules.
func NewApproval(by Identity, req ApprovalRequest, o ApprovalOptions) (Approval, error) {
	o = o.WithDefaults()
	if !by.Has(RoleSecurityAdmin) {
		return Approval{}, fmt.Errorf("%w: only security admins request approvals", ErrPermissionDenied)
	}
	switch {
	case !approvalActionRE.MatchString(req.Action):
		return Approval{}, fmt.Errorf("%w: action must be 1-64 characters of a-z, 0-9, '.', '_', '-'", ErrInvalidApproval)
	case len(req.Target) > maxApprovalTarget || !approvalTargetRE.MatchString(req.Target):
		return Approval{}, fmt.Errorf("%w: target must be 1-1024 printable ASCII characters", ErrInvalidApproval)
	case !utf8.ValidString(req.Reason) || !approvalReasonRE.MatchString(req.Reason) || utf8.RuneCountInString(req.Reason) > 1024:
		return Approval{}, fmt.Errorf("%w: reason must be at most 1024 printable characters", ErrInvalidApproval)
	}
	var b [16]byte
	if _, err := io.ReadFull(o.Rand, b[:]); err != nil {
		return Approval{}, fmt.Errorf("auth: approval id: %w", err)
	}
	now := o.now()
	return Approval{
		ID:              hex.EncodeToString(b[:]),
		ApprovalRequest: req,
		ParamsSHA256:    ApprovalParamsSHA256(req.Action, req.Target),
		RequestedBy:     by.Subject,
		RequestedAt:     now,
		ExpiresAt:       now.Add(o.TTL),
	}, nil
}

// Approve checks that by may approve a, and returns a approved by by.
func (a Approval) Approve(by Identity, o ApprovalOptions) (Approval, error) {
	o = o.WithDefaults()
	now := o.now()
	switch {
	case !by.Has(RoleSecurityAdmin):
		return a, fmt.Errorf("%w: only security admins approve", ErrPermissionDenied)
	case SameIdentity(by.Subject, a.RequestedBy):
		return a, fmt.Errorf("approval %s: %w", a.ID, ErrSelfApproval)
	case a.ParamsSHA256 != ApprovalParamsSHA256(a.Action, a.Target):
		return a, fmt.Errorf("approval %s: %w: its parameters do not match their hash", a.ID, ErrApprovalMismatch)
	case !a.ConsumedAt.IsZero():
		return a, fmt.Errorf("approval %s: %w", a.ID, ErrAlreadyConsumed)
	case a.ApprovedBy != "":
		return a, fmt.Errorf("approval %s: %w", a.ID, ErrAlreadyApproved)
	case !now.Before(a.ExpiresAt):
		return a, fmt.Errorf("approval %s: %w", a.ID, ErrApprovalExpired)
	}
	a.ApprovedBy, a.ApprovedAt = by.Subject, now
	return a, nil
}

// Consume checks that by may use a for action on target now, and returns a
// marked used.
func (a Approval) Consume(by Identity, action, target string, o ApprovalOptions) (Approval, error) {
	o = o.WithDefaults()
	now := o.now()
	switch {
	case !by.Has(RoleSecurityAdmin) || by.Subject != a.RequestedBy:
		return a, fmt.Errorf("%w: only the requester uses an approval", ErrPermissionDenied)
	case a.Action != action || a.Target != target:
		return a, fmt.Errorf("approval %s: %w", a.ID, ErrApprovalMismatch)
	case !a.ConsumedAt.IsZero():
		return a, fmt.Errorf("approval %s: %w", a.ID, ErrAlreadyConsumed)
	case a.ApprovedBy == "":
		return a, fmt.Errorf("approval %s: %w", a.ID, ErrNotApproved)
	case SameIdentity(a.ApprovedBy, a.RequestedBy):
		return a, fmt.Errorf("approval %s: %w", a.ID, ErrSelfApproval)
	case a.ParamsSHA256 != ApprovalParamsSHA256(a.Action, a.Target):
		return a, fmt.Errorf("approval %s: %w: its parameters do not match their hash", a.ID, ErrApprovalMismatch)
	case !now.Before(a.ExpiresAt):
		return a, fmt.Errorf("approval %s: %w", a.ID, ErrApprovalExpired)
	}
	a.ConsumedAt = now
	return a, nil
}

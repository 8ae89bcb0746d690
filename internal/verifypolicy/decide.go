package verifypolicy

import (
	"errors"
	"fmt"
	"time"

	"github.com/appsign/signer/internal/chain"
)

// ErrNoRevocationList reports that no revocation list is installed while
// RequireRevocation demands one.
var ErrNoRevocationList = errors.New("no revocation list installed")

// ErrUnknownOrigin reports a signature that claims success without an
// origin from the trust store: a caller bug, refused rather than accepted.
var ErrUnknownOrigin = errors.New("signature origin unknown")

// Revocation is what revocation data the check had.
type Revocation int

// Revocation states.
const (
	// RevocationChecked: a trusted revocation list was found and the
	// signature checked against it (its verdict is in Input.Failure).
	RevocationChecked Revocation = iota
	// RevocationNone: no revocation list is installed; nothing revoked can
	// be detected.
	RevocationNone
)

// Input is everything the decision depends on.
type Input struct {
	// Origin is chain.OriginOfChain of the validated path, or
	// chain.OriginUnknown when the signature did not verify or there is
	// no signature file.
	Origin string
	// HasSignatureFile is false when the archive came without one.
	HasSignatureFile bool
	// Failure is the first check that failed: chain verification (then
	// Origin is unknown) or a check after it (app-key scope, revocation,
	// revocation data refused). Nil when every check passed.
	Failure error
	// Revocation says whether a revocation list was available.
	Revocation Revocation
	// RequireRevocation turns a missing revocation list into a failure.
	RequireRevocation bool
	// Policy is the operator's mode per origin.
	Policy Policy
	// Now and GraceUntil: an archive without a signature file is accepted,
	// with a warning, while Now is before GraceUntil (zero: no grace period).
	Now, GraceUntil time.Time
}

// Decision is the verifier's verdict.
type Decision struct {
	// Origin is the origin the decision was made for (from Input, or
	// chain.OriginUnknown).
	Origin string
	// PolicyKey is the --policy key whose mode governed the decision: the
	// origin, or Unsigned for an unknown origin.
	PolicyKey string
	// Mode is the policy mode that governed the decision.
	Mode Mode
	// Valid: every check passed.
	Valid bool
	// Accepted: the archive may be installed (Valid, or a failure that
	// the policy or grace period lets through).
	Accepted bool
	// Failure is the failure that stands (nil when Valid).
	Failure error
	// Note says why a failure was accepted.
	Note string
	// Warnings are to be shown whatever the outcome.
	Warnings []string
}

// NoRevocationWarning is the warning shown when no revocation list is
// installed and none is required.
const NoRevocationWarning = "no revocation list installed in the trust store: revoked signatures, certificates and keys cannot be detected (install a trust bundle with its revocation list, or pass --revocation-list; --require-revocation makes this an error)"

// Decide applies the policy. The rules, in order:
//
//  1. The origin is Input.Origin if it is a known origin, else unknown; a
//     failure-free input with an unknown origin fails (ErrUnknownOrigin).
//  2. A verified signature with no revocation list fails under
//     RequireRevocation (ErrNoRevocationList) and warns otherwise.
//  3. No failure: valid and accepted.
//  4. An archive without signature file within the grace period is accepted.
//  5. Otherwise the origin's mode decides (unknown origin: Unsigned's):
//     enforce rejects, warn and off accept with a note.
func Decide(in Input) Decision {
	d := Decision{Origin: in.Origin, Failure: in.Failure}
	if !knownOrigin(d.Origin) {
		d.Origin = chain.OriginUnknown
		if d.Failure == nil {
			d.Failure = ErrUnknownOrigin
		}
	}
	d.PolicyKey = d.Origin
	if d.Origin == chain.OriginUnknown {
		d.PolicyKey = Unsigned
	}
	d.Mode = in.Policy.ModeFor(d.Origin)
	if d.Origin != chain.OriginUnknown && d.Failure == nil && in.Revocation == RevocationNone {
		if in.RequireRevocation {
			d.Failure = fmt.Errorf("%w (--require-revocation)", ErrNoRevocationList)
		} else {
			d.Warnings = append(d.Warnings, NoRevocationWarning)
		}
	}
	if d.Failure == nil {
		d.Valid, d.Accepted = true, true
		return d
	}
	if !in.HasSignatureFile && !in.GraceUntil.IsZero() && in.Now.Before(in.GraceUntil) {
		d.Accepted, d.Note = true, "unsigned app accepted during the grace period until "+in.GraceUntil.UTC().Format(time.RFC3339)
		return d
	}
	if d.Mode == Warn || d.Mode == Off {
		d.Accepted, d.Note = true, fmt.Sprintf("accepted by policy %s=%s despite the failure", d.PolicyKey, d.Mode)
	}
	return d
}

package revocation

import (
	"fmt"
	"slices"
)

// Reason says why something was revoked.
type Reason string

// Reasons. The first six are RFC 5280 CRL reasons; the others only make
// sense for archives and map to "unspecified" in a CRL.
const (
	ReasonUnspecified          Reason = "unspecified"
	ReasonKeyCompromise        Reason = "key-compromise"
	ReasonCACompromise         Reason = "ca-compromise"
	ReasonAffiliationChanged   Reason = "affiliation-changed"
	ReasonSuperseded           Reason = "superseded"
	ReasonCessationOfOperation Reason = "cessation-of-operation"
	// ReasonMalicious: the archive contains malware or was signed for an
	// attacker (e.g. a taken-over vendor account).
	ReasonMalicious Reason = "malicious"
	// ReasonVendorRequest: the vendor withdrew the version.
	ReasonVendorRequest Reason = "vendor-request"
	// ReasonPolicyViolation: the marketplace withdrew the version.
	ReasonPolicyViolation Reason = "policy-violation"
)

var reasons = []Reason{
	ReasonUnspecified, ReasonKeyCompromise, ReasonCACompromise, ReasonAffiliationChanged,
	ReasonSuperseded, ReasonCessationOfOperation, ReasonMalicious, ReasonVendorRequest,
	ReasonPolicyViolation,
}

// Reasons returns every valid Reason, for flag help and validation.
func Reasons() []Reason { return slices.Clone(reasons) }

// ParseReason returns the Reason named s.
func ParseReason(s string) (Reason, error) {
	r := Reason(s)
	if !slices.Contains(reasons, r) {
		return "", fmt.Errorf("revocation: %w: unknown reason %q (want one of %v)", ErrInvalidList, s, reasons)
	}
	return r, nil
}

// Compromise reports whether r means a key is in someone else's hands, so
// anything that key asserts (such as a signing time) proves nothing.
func (r Reason) Compromise() bool {
	return r == ReasonKeyCompromise || r == ReasonCACompromise
}

// CRLCode is r's RFC 5280 CRLReason code (0 for reasons X.509 lacks).
func (r Reason) CRLCode() int {
	switch r {
	case ReasonKeyCompromise:
		return 1
	case ReasonCACompromise:
		return 2
	case ReasonAffiliationChanged:
		return 3
	case ReasonSuperseded:
		return 4
	case ReasonCessationOfOperation:
		return 5
	}
	return 0
}

// Package approvaltest is the conformance suite of auth.Approvals: every
// implementation's tests call Run, so all of them enforce the two-person
// rule the same way.
package approvaltest

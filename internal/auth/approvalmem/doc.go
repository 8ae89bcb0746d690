// Package approvalmem keeps two-person-rule approvals in memory: for
// development and tests, and as the reference the conformance suite
// (approvaltest) checks the PostgreSQL store against.
package approvalmem

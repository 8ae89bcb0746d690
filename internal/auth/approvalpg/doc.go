// Package approvalpg keeps two-person-rule approvals in PostgreSQL (table
// approvals, migrations/00004_approvals.sql). Approve and Consume lock the
// row, so of concurrent calls on one approval exactly one wins; ConsumeTx
// lets the action the approval authorizes commit in the same transaction as
// its use.
package approvalpg

// Package revocationstore keeps revocation in PostgreSQL: what is revoked
// (archives, certificates, keys) with effective times that only move
// earlier, an append-only event per revocation naming exactly the ledger
// signatures it revoked, the signed revocation list versions and CRLs that
// were published, and the private-build certificates issued to vendors.
// The tables are created by migrations/00006_revocations.sql.
//
// Every revocation event runs the Options.Hook inside its transaction: the
// place where the transparency log (internal/translog, Log.AppendWith)
// appends its leaf, so an event is recorded in the log or not at all.
package revocationstore

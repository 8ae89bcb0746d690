// Package migrations holds the database schema of the signer service as
// numbered, forward-only SQL files applied by pressly/goose.
//
// A migration, once released, is never edited: a schema change is a new file
// with the next number. Files have an Up section only; there is no way back,
// because the ledger is an audit record and dropping its tables is never a
// migration. The same files run in production, in `signer dev` and in tests
// (see internal/ledger.Migrate).
package migrations

import "embed"

// FS holds every migration file, at its root, for goose to read.
//
//go:embed *.sql
var FS embed.FS

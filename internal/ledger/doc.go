// Package ledger is the PostgreSQL record of every signature the service
// produced: what was signed (app, version, track, size, digests), with which
// key and certificate, for which caller and review, and when.
//
// It owns the schema migrations' execution (the SQL lives in /migrations),
// the pgx connection pool, the SQL that reads and writes signature records,
// and the mapping of database failures to its sentinel errors. Callers see
// ErrNotFound, ErrIdempotencyConflict, ErrInvalidEntry, ErrInvalidFilter,
// ErrInvalidURL and ErrUnavailable, never a driver error to interpret.
//
// Record is idempotent per (caller, idempotency key): a retried request gets
// the original record back instead of a second signature row.
//
// Database URLs may hold a password: they never appear in an error.
package ledger

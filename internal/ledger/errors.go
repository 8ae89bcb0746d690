package ledger

import (
	"errors"
	"fmt"

	"github.com/appsign/signer/internal/pgerr"
	"github.com/appsign/signer/internal/translog"
)

var (
	// ErrNotFound means no record matches.
	ErrNotFound = errors.New("ledger: not found")
	// ErrIdempotencyConflict means the caller reused an idempotency key for a
	// different app, version, track or archive.
	ErrIdempotencyConflict = errors.New("ledger: idempotency key already used for a different request")
	// ErrInvalidEntry means an entry breaks the ledger's rules (bad track,
	// digest length, missing field).
	ErrInvalidEntry = errors.New("ledger: invalid entry")
	// ErrInvalidFilter means a List filter is out of range.
	ErrInvalidFilter = errors.New("ledger: invalid filter")
	// ErrInvalidURL means the database URL does not parse. The URL itself is
	// never quoted: it may hold a password.
	ErrInvalidURL = errors.New("ledger: invalid database URL")
	// ErrUnavailable means the database cannot be reached or is shutting
	// down; the request may succeed later.
	ErrUnavailable = errors.New("ledger: database unavailable")
)

// wrap adds what failed to err, and ErrUnavailable when the cause is that
// the database cannot be reached (see package pgerr) or the log it writes
// through is unavailable or closed.
func wrap(what string, err error) error {
	if errors.Is(err, translog.ErrUnavailable) || errors.Is(err, translog.ErrClosed) {
		return fmt.Errorf("ledger: %s: %w: %w", what, ErrUnavailable, err)
	}
	return pgerr.Wrap(ErrUnavailable, "ledger: "+what, err)
}

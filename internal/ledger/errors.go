package ledger

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

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
// the database cannot be reached.
func wrap(what string, err error) error {
	if unavailable(err) {
		return fmt.Errorf("ledger: %s: %w: %w", what, ErrUnavailable, err)
	}
	return fmt.Errorf("ledger: %s: %w", what, err)
}

// unavailable reports whether err means the server is unreachable, down or
// going down, as opposed to a problem with the request.
func unavailable(err error) bool {
	if errors.Is(err, translog.ErrUnavailable) || errors.Is(err, translog.ErrClosed) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", // admin_shutdown
			"57P02", // crash_shutdown
			"57P03": // cannot_connect_now: starting up or shutting down
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08") // connection_exception
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) ||
		errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		// A connection that broke under a statement (its server died mid-commit,
		// say) is closed by pgx; what used it fails with ErrConnClosed.
		errors.Is(err, pgconn.ErrConnClosed)
}

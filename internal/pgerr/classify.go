package pgerr

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
)

// Class is what a database error means to the caller.
type Class int

const (
	// Other is any error that is not one of the classes below: a bad
	// statement, a constraint, a permission or login failure, a caller's
	// cancelled context. Retrying the same request gives the same answer.
	Other Class = iota
	// Unavailable means the database cannot be reached, is shutting down,
	// starting up, out of connection slots, or is a standby refusing writes
	// after a failover: the request may succeed later, on a new connection.
	Unavailable
	// UniqueViolation means a row with the same unique key exists (23505).
	UniqueViolation
	// Conflict means the transaction lost to a concurrent one
	// (serialization_failure 40001, deadlock_detected 40P01): the database
	// is up, and running the whole transaction again may succeed. It is not
	// Unavailable, so it does not reach clients as "database unavailable".
	Conflict
)

// String returns the class name, for logs and test output.
func (c Class) String() string {
	switch c {
	case Unavailable:
		return "unavailable"
	case UniqueViolation:
		return "unique_violation"
	case Conflict:
		return "conflict"
	}
	return "other"
}

// Classify returns the class of err, which may wrap a *pgconn.PgError, a
// *pgconn.ConnectError, a net.Error or an error pgx returns for a broken
// connection. A connection that cannot be opened is Unavailable, even when
// the caller's deadline ended the attempt; otherwise an error of the
// caller's own context (Canceled, DeadlineExceeded) is Other, so the server
// reports it as such. A server's answer (PgError) decides by its SQLSTATE, even
// inside a ConnectError: a refused login (28P01) or a missing database
// (3D000) is Other, since retrying cannot fix it.
func Classify(err error) Class {
	if err == nil {
		return Other
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return classifyCode(pgErr.Code)
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return Unavailable
	}
	// The caller's own context ended (context.DeadlineExceeded is a
	// net.Error too): that is the caller's deadline, not an outage.
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Other
	}
	var netErr net.Error
	if errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		// A connection that broke under a statement (its server died
		// mid-commit, say) is closed by pgx; what used it fails with
		// ErrConnClosed. Found by TestReliabilityFailoverSynchronousStandby.
		errors.Is(err, pgconn.ErrConnClosed) {
		return Unavailable
	}
	return Other
}

// classifyCode classifies a SQLSTATE.
func classifyCode(code string) Class {
	switch code {
	case pgerrcode.AdminShutdown, // 57P01: pg_terminate_backend, or a fast shutdown
		pgerrcode.CrashShutdown,          // 57P02: another backend crashed
		pgerrcode.CannotConnectNow,       // 57P03: starting up, shutting down, in recovery
		pgerrcode.IdleSessionTimeout,     // 57P05: the server ended an idle session
		pgerrcode.TooManyConnections,     // 53300: no connection slot free now
		pgerrcode.ReadOnlySQLTransaction: // 25006: a write reached a standby (failover)
		return Unavailable
	case pgerrcode.UniqueViolation:
		return UniqueViolation
	case pgerrcode.SerializationFailure, pgerrcode.DeadlockDetected:
		return Conflict
	}
	if pgerrcode.IsConnectionException(code) { // class 08
		return Unavailable
	}
	return Other
}

// IsUnavailable reports whether Classify(err) is Unavailable.
func IsUnavailable(err error) bool { return Classify(err) == Unavailable }

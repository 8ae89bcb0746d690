package revocationstore

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

var (
	// ErrNotFound means no such ledger entry, list or CRL.
	ErrNotFound = errors.New("revocationstore: not found")
	// ErrInvalid means a request breaks the store's rules (empty target,
	// missing effective time, unknown reason).
	ErrInvalid = errors.New("revocationstore: invalid request")
	// ErrUnavailable means the database cannot be reached; retry later.
	ErrUnavailable = errors.New("revocationstore: database unavailable")
	// ErrLogMismatch means the revocations rows disagree with the
	// revocations the transparency log proves (rows deleted or rewritten
	// behind the service): nothing is published until they agree.
	ErrLogMismatch = errors.New("revocationstore: revocations disagree with the log")
)

// wrap adds what failed, and ErrUnavailable when the database is unreachable.
func wrap(what string, err error) error {
	if unavailable(err) {
		return fmt.Errorf("revocationstore: %s: %w: %w", what, ErrUnavailable, err)
	}
	return fmt.Errorf("revocationstore: %s: %w", what, err)
}

func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03":
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08")
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		// A connection that broke under a statement (its server died mid-commit,
		// say) is closed by pgx; what used it fails with ErrConnClosed.
		errors.Is(err, pgconn.ErrConnClosed)
}

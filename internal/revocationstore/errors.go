package revocationstore

import (
	"errors"

	"github.com/appsign/signer/internal/pgerr"
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

// wrap adds what failed, and ErrUnavailable when the database is
// unreachable (see package pgerr).
func wrap(what string, err error) error {
	return pgerr.Wrap(ErrUnavailable, "revocationstore: "+what, err)
}

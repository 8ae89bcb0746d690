package keystore

import (
	"errors"

	"github.com/appsign/signer/internal/pgerr"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrInvalidRequest: a bad key name, role, actor or backend choice.
	ErrInvalidRequest = errors.New("keystore: invalid request")
	// ErrNotFound: no such key or key version.
	ErrNotFound = errors.New("keystore: not found")
	// ErrExists: Create of a key that exists, or Import over a key of another role.
	ErrExists = errors.New("keystore: key exists")
	// ErrNoActiveVersion: the key exists but no version may sign.
	ErrNoActiveVersion = errors.New("keystore: key has no active version")
	// ErrActiveVersion: Retire of the active version; rotate to replace it first.
	ErrActiveVersion = errors.New("keystore: version is active")
	// ErrRevoked: the version is revoked and may neither sign nor be looked up.
	ErrRevoked = errors.New("keystore: version revoked")
	// ErrKeyMismatch: a backend key, certificate or stored public key disagree,
	// or a new key failed its test signature.
	ErrKeyMismatch = errors.New("keystore: key does not match its record")
	// ErrUnsuitableKey: the key or certificate cannot serve the key's role
	// (e.g. an archive-signing key that cannot pure-sign archives, or a
	// certificate not valid for code signing).
	ErrUnsuitableKey = errors.New("keystore: key unsuitable for its role")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("keystore: closed")
	// ErrUnavailable: the database cannot be reached; retry later.
	ErrUnavailable = errors.New("keystore: database unavailable")
)

// wrap adds what failed to a database error, and ErrUnavailable when the
// cause is that the database cannot be reached (see package pgerr).
func wrap(what string, err error) error {
	return pgerr.Wrap(ErrUnavailable, "keystore: "+what, err)
}

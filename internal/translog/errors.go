package translog

import (
	"errors"

	"github.com/appsign/signer/internal/pgerr"
)

var (
	// ErrInvalidKind means an append named a kind that is not one of the
	// Kind constants.
	ErrInvalidKind = errors.New("translog: invalid leaf kind")
	// ErrPayloadTooLarge means an append's payload exceeds Options.MaxPayload.
	ErrPayloadTooLarge = errors.New("translog: payload too large")
	// ErrMalformedLeaf means bytes are not a leaf EncodeLeaf could have made.
	ErrMalformedLeaf = errors.New("translog: malformed leaf")
	// ErrClosed means the Log was closed before the append was sequenced.
	ErrClosed = errors.New("translog: log closed")
	// ErrOutOfRange means a proof or read asked for indexes or tree sizes the
	// log does not have (yet).
	ErrOutOfRange = errors.New("translog: index or tree size out of range")
	// ErrNoCheckpoint means no checkpoint has been signed yet.
	ErrNoCheckpoint = errors.New("translog: no checkpoint")
	// ErrNoSigner means the Log was opened without a ledger key, so it
	// cannot sign checkpoints.
	ErrNoSigner = errors.New("translog: no ledger key to sign checkpoints")
	// ErrBadCheckpoint means a checkpoint note does not parse, names another
	// origin, or carries no valid signature by a trusted key.
	ErrBadCheckpoint = errors.New("translog: bad checkpoint")
	// ErrCorrupt means the stored log contradicts itself or its signed
	// history: the stored root is not the hash of the stored tree, or the
	// tree is not an extension of the last signed checkpoint. The log
	// refuses to append or sign until an operator investigates (run Verify).
	ErrCorrupt = errors.New("translog: stored log is inconsistent")
	// ErrDiverged means the stored log does not extend the latest
	// checkpoint published outside the database (Options.Anchor): it has
	// fewer leaves, another root at the published size, or no consistency
	// proof to it. The log was cut back or rewritten, or the database is a
	// standby that lost committed transactions. It wraps ErrCorrupt too.
	// Checkpoint refuses to sign until an operator restores the published
	// history.
	ErrDiverged = errors.New("translog: stored log diverges from the published checkpoint")
	// ErrPublish means the checkpoints published outside the database
	// could not be read or written; nothing is signed without them.
	ErrPublish = errors.New("translog: published checkpoints unavailable")
	// ErrInvalidOptions means Open was given unusable Options.
	ErrInvalidOptions = errors.New("translog: invalid options")
	// ErrUnavailable means the database cannot be reached or is shutting
	// down; the call may succeed later.
	ErrUnavailable = errors.New("translog: database unavailable")
)

// wrap adds what failed to err, and ErrUnavailable when the cause is that
// the database cannot be reached (see package pgerr).
func wrap(what string, err error) error {
	return pgerr.Wrap(ErrUnavailable, "translog: "+what, err)
}

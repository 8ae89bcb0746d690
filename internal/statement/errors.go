package statement

import "errors"

// Sentinel errors owned by this package. Parse and verification failures
// otherwise wrap the sentinels of package chain.
var (
	// ErrInvalidStatement reports a Statement whose fields break the
	// grammar, so Marshal refuses to encode (and Sign to sign) it.
	ErrInvalidStatement = errors.New("invalid digest statement")
	// ErrDigestMismatch reports an archive whose size, SHA-256 or SHA-512
	// differs from the validly signed statement: the signature is fine, but
	// it is not about this archive.
	ErrDigestMismatch = errors.New("archive does not match the statement")
)

package revocation

import "errors"

// Sentinel errors returned (wrapped, with a reason) by this package.
var (
	// ErrInvalidList reports a list, entry or CRL request that Build,
	// Marshal, Sign or BuildCRL refuses to produce.
	ErrInvalidList = errors.New("invalid revocation list")
	// ErrMalformed reports an envelope or list that cannot be decoded, or
	// that is not in its one canonical encoding.
	ErrMalformed = errors.New("malformed revocation list")
	// ErrBadSignature reports a signature that does not verify.
	ErrBadSignature = errors.New("bad revocation list signature")
	// ErrUntrusted reports a signer certificate that is not a trusted root
	// and not a certificate for the purpose (revocation or bundle signing)
	// chaining to one.
	ErrUntrusted = errors.New("untrusted signer certificate")
	// ErrExpired reports a signer certificate outside its validity period.
	ErrExpired = errors.New("signer certificate outside validity period")
	// ErrStale reports a list checked after its NextUpdate. Verify returns
	// the verified list together with it.
	ErrStale = errors.New("revocation list is stale")
	// ErrRollback reports a list older than one already seen.
	ErrRollback = errors.New("revocation list rollback")
	// ErrRevoked reports a signature that the list revokes; the error is
	// a *RevokedError naming the entry.
	ErrRevoked = errors.New("revoked")
)

package bundle

import "errors"

// Sentinel errors returned (wrapped, naming the file) by this package.
var (
	// ErrInvalidBundle reports input Export refuses to publish.
	ErrInvalidBundle = errors.New("invalid bundle")
	// ErrMalformed reports a bundle file that cannot be decoded or does
	// not match its manifest entry.
	ErrMalformed = errors.New("malformed bundle file")
	// ErrBadSignature reports a manifest signature that does not verify.
	ErrBadSignature = errors.New("bad manifest signature")
	// ErrUntrusted reports a manifest signer that is not trusted: not a
	// trusted root and not a bundle-signing certificate chaining to one.
	ErrUntrusted = errors.New("untrusted bundle signer")
	// ErrExpired reports a certificate of the bundle, or its signer,
	// outside its validity period.
	ErrExpired = errors.New("certificate outside validity period")
	// ErrDigestMismatch reports a file whose SHA-256 or SHA-512 differs
	// from the manifest or a sums file.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrMissingFile reports a file the manifest lists that is absent.
	ErrMissingFile = errors.New("missing file")
	// ErrUnexpectedFile reports a file in the bundle directory that the
	// manifest does not list.
	ErrUnexpectedFile = errors.New("unexpected file")
	// ErrDowngrade reports a bundle older than the installed one.
	ErrDowngrade = errors.New("bundle downgrade")
	// ErrConflict reports a trust-store file with a bundle file's name
	// but other content.
	ErrConflict = errors.New("trust store conflict")
)

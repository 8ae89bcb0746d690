package chain

import "errors"

// Sentinel errors returned (wrapped, with a human reason) by this package.
var (
	// ErrMalformed reports a signature file, certificate or trust-store
	// entry that cannot be decoded.
	ErrMalformed = errors.New("malformed")
	// ErrBadSignature reports a signature that does not verify over the
	// archive with the certificate's key.
	ErrBadSignature = errors.New("bad signature")
	// ErrUntrusted reports a certificate that does not chain to a root in
	// the trust store, or is not acceptable for code signing.
	ErrUntrusted = errors.New("untrusted certificate")
	// ErrExpired reports a certificate used outside its validity window
	// (expired or not yet valid), in an otherwise acceptable chain.
	ErrExpired = errors.New("certificate outside validity period")
	// ErrInvalidKey reports a key of the wrong type or one that does not
	// match the certificate it is used with.
	ErrInvalidKey = errors.New("invalid key")
	// ErrInsecureKeyFile reports a private-key file readable or writable
	// by group or others; it is refused rather than loaded.
	ErrInsecureKeyFile = errors.New("insecure key file permissions")
	// ErrInvalidPKI reports development PKI files that are inconsistent
	// (a chain that does not verify, a certificate that does not match
	// its key).
	ErrInvalidPKI = errors.New("invalid development pki")
)

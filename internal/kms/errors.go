package kms

import "errors"

// Sentinel errors. Backends wrap them with context (never with secrets) and
// callers test with errors.Is; internal/server maps them to gRPC codes.
var (
	// ErrInvalidURI: the key URI is malformed or lacks an attribute.
	ErrInvalidURI = errors.New("kms: invalid key URI")
	// ErrUnknownBackend: no backend is registered for the URI's scheme.
	ErrUnknownBackend = errors.New("kms: no backend for key URI scheme")
	// ErrKeyNotFound: the backend has no such key.
	ErrKeyNotFound = errors.New("kms: key not found")
	// ErrMessageTooLarge: the backend cannot pure-sign a message this large.
	ErrMessageTooLarge = errors.New("kms: message too large for this key backend")
	// ErrUnsupported: the backend lacks the capability (e.g. streaming, key creation).
	ErrUnsupported = errors.New("kms: operation not supported by this key backend")
	// ErrUnavailable: the backend cannot be reached or refuses service for now
	// (network, throttling beyond the deadline, HSM down); retrying later may
	// succeed without anybody acting.
	ErrUnavailable = errors.New("kms: key backend unavailable")
	// ErrKeyDisabled: the backend holds the key but will not use it until an
	// operator acts (an AWS KMS key disabled or pending deletion, a PKCS#11
	// key whose attributes forbid signing). Retrying does not help.
	ErrKeyDisabled = errors.New("kms: key disabled in its backend")
	// ErrPermission: the backend denied access (key policy, IAM, PIN), or a
	// key file has unsafe permissions. Retrying does not help.
	ErrPermission = errors.New("kms: permission denied")
	// ErrBackendFault: the backend returned a signature that does not verify
	// under the key's public key. The signature is discarded.
	ErrBackendFault = errors.New("kms: backend returned an invalid signature")
	// ErrClosed: the backend or signer was closed.
	ErrClosed = errors.New("kms: closed")
	// ErrInvalidKey: the key material is not a valid Ed25519 key.
	ErrInvalidKey = errors.New("kms: invalid key")
)

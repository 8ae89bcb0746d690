package auth

import "errors"

var (
	// ErrNoCredentials means the caller presented no verified client
	// certificate (plaintext, or TLS without a client certificate).
	ErrNoCredentials = errors.New("auth: no client credentials")
	// ErrInvalidSubject means the client certificate's identity is missing,
	// ambiguous (several URI SANs) or not a well-formed SPIFFE ID.
	ErrInvalidSubject = errors.New("auth: invalid caller identity")
	// ErrUnknownIdentity means the caller's identity is well formed but no
	// rule of the policy names it.
	ErrUnknownIdentity = errors.New("auth: identity not in policy")
	// ErrNotLoopback means the loopback authenticator was asked to vouch for
	// a connection that is not plaintext on a loopback address.
	ErrNotLoopback = errors.New("auth: not a plaintext loopback connection")
	// ErrPermissionDenied means an authenticated caller may not make the
	// request. Denial errors returned by a RequestCheck wrap it.
	ErrPermissionDenied = errors.New("auth: permission denied")
	// ErrRoleNotAllowed means none of the caller's roles may call the
	// method.
	ErrRoleNotAllowed = errors.New("auth: the caller's roles do not allow this method")
	// ErrInvalidPolicy means a policy file breaks the format described in
	// the package documentation.
	ErrInvalidPolicy = errors.New("auth: invalid policy")
	// ErrMethodNotCovered means a registered gRPC method has no entry in the
	// method table: it would be refused to everyone.
	ErrMethodNotCovered = errors.New("auth: method not covered by the method table")
)

// Package limits owns how much the signer accepts at once: message and
// archive size caps, a deadline on every call (a default when the caller
// sets none, and a maximum), a global cap on calls in flight, and
// per-identity token-bucket rate limits and concurrency caps.
//
// Overload is answered at once, never by queueing: a full server answers
// Unavailable, a caller over its own rate or concurrency limit
// ResourceExhausted, both with a google.rpc.RetryInfo detail saying when to
// retry. The interceptors must run after authentication (auth.Authorizer),
// since limits are kept per caller identity.
package limits

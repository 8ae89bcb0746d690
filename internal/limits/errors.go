package limits

import (
	"errors"
	"fmt"
	"time"
)

// Refusals. The interceptors return them inside a *RetryError that says
// when to retry; internal/server's interceptor gives them their codes,
// fixed client messages and a RetryInfo detail.
var (
	// ErrOverloaded: the server has MaxInFlight calls in flight.
	ErrOverloaded = errors.New("limits: too many calls in flight on this server")
	// ErrConcurrency: the caller has MaxConcurrentPerIdentity calls in flight.
	ErrConcurrency = errors.New("limits: too many concurrent calls from this caller")
	// ErrRateLimited: the caller's token bucket is empty.
	ErrRateLimited = errors.New("limits: rate limit exceeded for this caller")
)

// RetryError is a refusal (Err, one of the sentinels above) that may pass
// when the caller retries after After.
type RetryError struct {
	Err   error
	After time.Duration
	// Detail says which limit was hit, for the server log.
	Detail string
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("%v (%s); retry in %v", e.Err, e.Detail, e.After)
}

// Unwrap returns the sentinel.
func (e *RetryError) Unwrap() error { return e.Err }

// RetryAfter is how long the caller should wait before retrying.
func (e *RetryError) RetryAfter() time.Duration { return e.After }

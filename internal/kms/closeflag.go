package kms

import (
	"fmt"
	"sync/atomic"
)

// CloseFlag records that a backend was closed, for backends whose Close
// only stops new work: the KMS client and any open signers belong to
// others and keep working. The zero value is open.
type CloseFlag struct{ closed atomic.Bool }

// Close marks the backend closed and returns nil, as a backend's Close
// does. Closing twice is not an error.
func (f *CloseFlag) Close() error {
	f.closed.Store(true)
	return nil
}

// Check returns an error wrapping ErrClosed, prefixed with the backend's
// scheme, once Close has been called.
func (f *CloseFlag) Check(scheme string) error {
	if f.closed.Load() {
		return fmt.Errorf("%s: backend: %w", scheme, ErrClosed)
	}
	return nil
}

package metrics

import (
	"context"
	"errors"

	"github.com/appsign/signer/internal/kms"
)

// OnFault returns a kms.Registry OnFault hook that counts verify-after-sign
// failures by backend scheme, then calls next (if non-nil).
func (m *Metrics) OnFault(next func(kms.URI)) func(kms.URI) {
	return func(u kms.URI) {
		m.VerifyFailure(u.Scheme)
		if next != nil {
			next(u)
		}
	}
}

// ErrorClass names the kind of a backend error with a fixed word, for a
// metric label.
func ErrorClass(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, kms.ErrBackendFault):
		return "invalid_signature"
	case errors.Is(err, kms.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, kms.ErrKeyDisabled):
		return "disabled"
	case errors.Is(err, kms.ErrPermission):
		return "permission"
	case errors.Is(err, kms.ErrMessageTooLarge), errors.Is(err, kms.ErrUnsupported):
		return "unsupported"
	case errors.Is(err, kms.ErrClosed):
		return "closed"
	case errors.Is(err, kms.ErrKeyNotFound):
		return "key_not_found"
	}
	return "other"
}

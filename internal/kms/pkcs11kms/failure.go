package pkcs11kms

import (
	"errors"
	"fmt"

	"github.com/miekg/pkcs11"

	"github.com/appsign/signer/internal/kms"
)

// failure says how to recover from an error returned by the module.
type failure int

const (
	// final: not recoverable by retrying (or not a module error at all).
	final failure = iota
	// staleHandle: a cached object handle is no longer valid (SoftHSM2 drops
	// handles of private objects when the login state ends); find the key again.
	staleHandle
	// sessionLost: the session is unusable; discard it and open another.
	sessionLost
	// deviceLost: the module or token failed; re-initialize the module.
	deviceLost
)

func (f failure) String() string {
	switch f {
	case staleHandle:
		return "stale object handle"
	case sessionLost:
		return "session lost"
	case deviceLost:
		return "device lost"
	}
	return "final"
}

func rv(err error) (pkcs11.Error, bool) {
	var e pkcs11.Error
	ok := errors.As(err, &e)
	return e, ok
}

func classify(err error) failure {
	e, ok := rv(err)
	if !ok {
		return final
	}
	switch e {
	case pkcs11.CKR_OBJECT_HANDLE_INVALID, pkcs11.CKR_KEY_HANDLE_INVALID:
		return staleHandle
	case pkcs11.CKR_SESSION_HANDLE_INVALID, pkcs11.CKR_SESSION_CLOSED,
		pkcs11.CKR_USER_NOT_LOGGED_IN, pkcs11.CKR_OPERATION_ACTIVE,
		pkcs11.CKR_GENERAL_ERROR, pkcs11.CKR_FUNCTION_FAILED:
		return sessionLost
	case pkcs11.CKR_DEVICE_ERROR, pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_DEVICE_MEMORY,
		pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_TOKEN_NOT_RECOGNIZED,
		pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED, pkcs11.CKR_SLOT_ID_INVALID:
		return deviceLost
	}
	return final
}

// kmsSentinels are the errors sentinel does not wrap twice.
var kmsSentinels = []error{
	kms.ErrPermission, kms.ErrKeyDisabled, kms.ErrMessageTooLarge, kms.ErrUnsupported, kms.ErrInvalidKey,
	kms.ErrUnavailable, kms.ErrKeyNotFound, kms.ErrClosed, kms.ErrInvalidURI, kms.ErrBackendFault,
}

// sentinel adds the kms sentinel that matches a module return value, so
// callers can test with errors.Is. PKCS#11 errors carry only a code, never
// a PIN or key bytes.
func sentinel(err error) error {
	e, ok := rv(err)
	if !ok {
		return err
	}
	for _, s := range kmsSentinels {
		if errors.Is(err, s) {
			return err
		}
	}
	var s error
	switch e {
	case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE,
		pkcs11.CKR_PIN_EXPIRED, pkcs11.CKR_PIN_LOCKED, pkcs11.CKR_USER_PIN_NOT_INITIALIZED:
		s = kms.ErrPermission
	case pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED:
		// The key's own attributes (CKA_SIGN false) forbid signing: the
		// token holds it, but an operator must replace it.
		s = kms.ErrKeyDisabled
	case pkcs11.CKR_DATA_LEN_RANGE:
		s = kms.ErrMessageTooLarge
	case pkcs11.CKR_MECHANISM_INVALID, pkcs11.CKR_FUNCTION_NOT_SUPPORTED:
		s = kms.ErrUnsupported
	case pkcs11.CKR_KEY_TYPE_INCONSISTENT:
		s = kms.ErrInvalidKey
	default:
		if classify(err) != final {
			s = kms.ErrUnavailable
		}
	}
	if s == nil {
		return err
	}
	return fmt.Errorf("%w: %w", s, err)
}

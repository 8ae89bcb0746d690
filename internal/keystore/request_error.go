package keystore

import "fmt"

// RequestError refuses a request for what its own fields say (a key name,
// a role, a version, a backend scheme). It wraps ErrInvalidRequest and,
// when there is one, the cause. Its message names the field and what is
// allowed, never a secret: internal/server shows it to the caller.
type RequestError struct {
	msg   string
	cause error
}

// invalidRequest returns a RequestError whose client message is the
// formatted text; a trailing cause is wrapped but not shown.
func invalidRequest(cause error, format string, args ...any) error {
	return &RequestError{msg: fmt.Sprintf(format, args...), cause: cause}
}

func (e *RequestError) Error() string {
	if e.cause == nil {
		return fmt.Sprintf("%v: %s", ErrInvalidRequest, e.msg)
	}
	return fmt.Sprintf("%v: %s: %v", ErrInvalidRequest, e.msg, e.cause)
}

// Unwrap returns ErrInvalidRequest and the cause.
func (e *RequestError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrInvalidRequest}
	}
	return []error{ErrInvalidRequest, e.cause}
}

// ClientMessage is the text the caller gets: what to fix in the request.
func (e *RequestError) ClientMessage() string { return e.msg }

package pgerr

import "fmt"

// Wrap adds what failed to err ("ledger: get entry 7: <err>") and, when
// err means the database is unavailable, wraps unavailable as well: the
// store's own sentinel, so that errors.Is(result, unavailable) holds and
// the cause stays visible to errors.Is and errors.As. A nil err stays nil.
func Wrap(unavailable error, what string, err error) error {
	if err == nil {
		return nil
	}
	if IsUnavailable(err) {
		return fmt.Errorf("%s: %w: %w", what, unavailable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

package translog

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestWrapMarksUnavailable: errors meaning the database went away are
// ErrUnavailable (clients retry); others are not. A commit on a connection
// pgx closed under it (its server was killed mid-commit) came back as
// Internal before ErrConnClosed was listed: TestReliabilityFailoverSynchronousStandby
// found it.
func TestWrapMarksUnavailable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"commit on a connection pgx closed", fmt.Errorf("commit: %w", pgconn.ErrConnClosed), true},
		{"server gone mid-read", io.ErrUnexpectedEOF, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"plain error", errors.New("bad payload"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(wrap("append: commit", tt.err), ErrUnavailable); got != tt.want {
				t.Errorf("wrap(%v) is ErrUnavailable: %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

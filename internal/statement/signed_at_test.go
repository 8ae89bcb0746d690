package statement

import (
	"errors"
	"testing"
	"time"
)

// TestSignedAtRange: a statement's signing time is whatever TimeLayout
// encodes without loss, from year 1 to year 9999, to the microsecond; what
// it cannot encode is refused rather than rounded or clamped.
func TestSignedAtRange(t *testing.T) {
	tests := []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"year 1 (not the zero time)", time.Date(1, 2, 1, 0, 0, 0, 0, time.UTC), true},
		{"year 9999", time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), true},
		{"another zone", time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("x", 3600)), true},
		{"zero time", time.Time{}, false},
		{"year 0", time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC), false},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"nanoseconds", time.Date(2026, 3, 1, 12, 0, 0, 1, time.UTC), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := statementFor([]byte("archive"))
			st.SignedAt = tt.at
			b, err := st.Marshal()
			if !tt.ok {
				if !errors.Is(err, ErrInvalidStatement) || b != nil {
					t.Fatalf("Marshal = %q, %v; want ErrInvalidStatement", b, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			back, err := Parse(b)
			if err != nil || !back.SignedAt.Equal(tt.at) {
				t.Fatalf("Parse = %v, %v; want the same time %v", back.SignedAt, err, tt.at)
			}
		})
	}
}

package kms

import (
	"errors"
	"strings"
	"testing"
)

// TestParseURILength: key URIs are logged and stored in the ledger, so
// their length is bounded, both as given and in canonical form.
func TestParseURILength(t *testing.T) {
	pad := func(total int, fill string) string { // "softkms:path=/" then fill up to total bytes
		const head = "softkms:path=/"
		return head + strings.Repeat(fill, (total-len(head))/len(fill))
	}
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"maxURILen bytes", pad(maxURILen, "a"), true},
		{"maxURILen+1 bytes", pad(maxURILen+1, "a"), false},
		// "%20" is three bytes given and three in canonical form: at the limit.
		{"maxURILen bytes encoded", "softkms:path=/" + strings.Repeat("%20", (maxURILen-14)/3), true},
		// A raw byte 0x01 is one byte given and three canonical: over.
		{"short given, long canonical", pad(maxURILen/2+100, "\x01"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseURI(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("ParseURI of %d bytes: %v", len(tt.in), err)
				}
				if n := len(u.String()); n > maxURILen {
					t.Errorf("canonical form is %d bytes", n)
				}
				return
			}
			if !errors.Is(err, ErrInvalidURI) {
				t.Fatalf("ParseURI of %d bytes = %v, want ErrInvalidURI", len(tt.in), err)
			}
		})
	}
}

// TestURIStringEscapes: the canonical form escapes exactly what would break
// the syntax or a log line, and leaves paths and ARNs readable.
func TestURIStringEscapes(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"space", "a b", "a%20b"},
		{"control", "a\x1fb", "a%1Fb"},
		{"DEL", "a\x7fb", "a%7Fb"},
		{"high byte", "a\xc3\xa9", "a%C3%A9"},
		{"separators", "a;b=c%d", "a%3Bb%3Dc%25d"},
		{"printable ASCII kept", "!~/:arn-._", "!~/:arn-._"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := NewURI("softkms", map[string]string{"path": tt.value})
			if got, want := u.String(), "softkms:path="+tt.want; got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
			back, err := ParseURI(u.String())
			if err != nil || back.Get("path") != tt.value {
				t.Errorf("ParseURI(String()) = %q, %v; want %q", back.Get("path"), err, tt.value)
			}
		})
	}
}

package statement

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/chain"
)

// TestParseErrorsSayWhereAndWhat: a statement that does not parse is
// someone's hand-made or damaged file; the error names the line (or byte)
// and what is wrong there, so it can be fixed without reading the grammar.
func TestParseErrorsSayWhereAndWhat(t *testing.T) {
	good, err := statementFor([]byte("archive")).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(good), "\n") // header, nine fields, ""
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"header without LF", strings.TrimSuffix(Header, "\n"), "line 1: missing LF"},
		{"carriage return first", "\r" + string(good), "carriage return at byte 0"},
		{"carriage return ending the header", strings.Replace(string(good), "\n", "\r\n", 1), "carriage return at byte " + strconv.Itoa(len(Header)-1)},
		{"no final LF", strings.TrimSuffix(string(good), "\n"), "line 10: missing final LF"},
		{"three fields only", strings.Join(lines[:4], ""), "line 5: missing field " + `"` + fieldOrder[3] + `"`},
		{"short sha256", shortDigest(string(good)), "line 6: archive-sha256: 62 hex digits, want 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.input))
			if !errors.Is(err, chain.ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v; want chain.ErrMalformed saying %q", err, tt.want)
			}
		})
	}
}

// shortDigest replaces the archive-sha256 value of a statement with 62 hex digits.
func shortDigest(s string) string {
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(s, "\n") {
		if v, ok := strings.CutPrefix(line, fieldArchiveSHA256+" "); ok {
			line = fieldArchiveSHA256 + " " + v[2:]
		}
		out.WriteString(line)
	}
	return out.String()
}

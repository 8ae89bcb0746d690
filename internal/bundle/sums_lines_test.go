package bundle

import (
	"errors"
	"strings"
	"testing"
)

// TestParseSumsNamesTheBadLine: a checksum file refused for one line says
// which, counting from 1 as editors do, so the operator finds it.
func TestParseSumsNamesTheBadLine(t *testing.T) {
	good := strings.Repeat("ab", 32) + "  root-ca.pem\n"
	for _, tt := range []struct {
		in   string
		line string
	}{
		{"*" + good, "line 1 "},
		{good + strings.Repeat("ab", 32) + " *manifest.json\n", "line 2 "},
		{good + good, "line 2: "},
	} {
		_, err := parseSums([]byte(tt.in), 64)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.line) {
			t.Errorf("parseSums(%q) = %v, want ErrMalformed naming %q", tt.in, err, tt.line)
		}
	}
}

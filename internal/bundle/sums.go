package bundle

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// encodeSums writes coreutils checksum lines ("<hex>  <name>\n", text
// mode) sorted by name, as sha256sum and sha512sum print them.
func encodeSums(sums map[string]string) []byte {
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	slices.Sort(names)
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", sums[n], n)
	}
	return b.Bytes()
}

// parseSums reads what encodeSums writes, for digests of hexLen digits.
// Anything else, including binary-mode ("*name") lines, blank lines and
// repeated names, is refused.
func parseSums(b []byte, hexLen int) (map[string]string, error) {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return nil, fmt.Errorf("%w: empty or not ending in a newline", ErrMalformed)
	}
	out := make(map[string]string)
	for i, line := range strings.Split(string(b[:len(b)-1]), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != hexLen || strings.Trim(sum, "0123456789abcdef") != "" || checkSumsName(name) != nil {
			return nil, fmt.Errorf("%w: line %d is not \"<%d lowercase hex>  <file name>\"", ErrMalformed, i+1, hexLen)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%w: line %d: %s listed twice", ErrMalformed, i+1, name)
		}
		out[name] = sum
	}
	return out, nil
}

func checkSumsName(name string) error {
	if name == ManifestFile || name == SignatureFile {
		return nil
	}
	return checkFileName(name)
}

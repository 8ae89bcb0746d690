package statement

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/appsign/signer/internal/chain"
)

// Parse strictly decodes a statement and accepts only the bytes Marshal
// produces: at most MaxSize bytes, the v1 header line, the nine fields in
// their order, each once, as "name SP value LF", every value in its
// grammar (canonical decimals, lowercase hex of the exact length,
// TimeLayout), LF line endings only and nothing after the last LF. Every
// error wraps chain.ErrMalformed and names the line at fault.
func Parse(b []byte) (Statement, error) {
	st, err := parse(b)
	if err != nil {
		return Statement{}, fmt.Errorf("statement: parse: %w: %w", chain.ErrMalformed, err)
	}
	return st, nil
}

func parse(b []byte) (Statement, error) {
	if len(b) > MaxSize {
		return Statement{}, fmt.Errorf("%d bytes, limit %d", len(b), MaxSize)
	}
	if i := bytes.IndexByte(b, '\r'); i >= 0 {
		return Statement{}, fmt.Errorf("carriage return at byte %d: lines end with LF only", i)
	}
	if err := checkHeader(b); err != nil {
		return Statement{}, err
	}
	body := b[len(Header):]
	if len(body) == 0 {
		return Statement{}, fmt.Errorf("line 2: missing field %q", fieldOrder[0])
	}
	if body[len(body)-1] != '\n' {
		return Statement{}, fmt.Errorf("line %d: missing final LF", bytes.Count(b, []byte("\n"))+1)
	}
	lines := strings.Split(string(body[:len(body)-1]), "\n")
	values := make([]string, len(fieldOrder))
	for i, line := range lines {
		lineNo := i + 2 // the header is line 1
		name, value, ok := strings.Cut(line, " ")
		switch {
		case i >= len(fieldOrder):
			return Statement{}, fmt.Errorf("line %d: data after the last field %q", lineNo, fieldOrder[len(fieldOrder)-1])
		case !ok:
			return Statement{}, fmt.Errorf("line %d: want \"name value\"", lineNo)
		case !slices.Contains(fieldOrder, name):
			return Statement{}, fmt.Errorf("line %d: unknown field %.40q", lineNo, name)
		case slices.Contains(fieldOrder[:i], name):
			return Statement{}, fmt.Errorf("line %d: duplicate field %q", lineNo, name)
		case name != fieldOrder[i]:
			return Statement{}, fmt.Errorf("line %d: field %q out of order, want %q", lineNo, name, fieldOrder[i])
		}
		values[i] = value
	}
	if len(lines) < len(fieldOrder) {
		return Statement{}, fmt.Errorf("line %d: missing field %q", len(lines)+2, fieldOrder[len(lines)])
	}
	st, err := decodeValues(values)
	if err != nil {
		return Statement{}, err
	}
	// Every field was checked against its grammar; this only guards the
	// promise that Parse and Marshal agree byte for byte.
	if !bytes.Equal(st.encode(), b) {
		return Statement{}, fmt.Errorf("not in canonical form")
	}
	return st, nil
}

// decoders decode and check the value of each field, in fieldOrder.
var decoders = []func(st *Statement, s string) error{
	func(st *Statement, s string) error { st.AppKey = s; return checkAppKey(s) },
	func(st *Statement, s string) error { st.Version = s; return checkVersion(s) },
	func(st *Statement, s string) error { st.Track = s; return checkTrack(s) },
	func(st *Statement, s string) (err error) { st.ArchiveSize, err = parseArchiveSize(s); return err },
	func(st *Statement, s string) (err error) { st.SHA256, err = parseHex(s, sha256Size); return err },
	func(st *Statement, s string) (err error) { st.SHA512, err = parseHex(s, sha512Size); return err },
	func(st *Statement, s string) (err error) { st.SignedAt, err = parseSignedAt(s); return err },
	func(st *Statement, s string) error { st.KeyID = s; return checkKeyID(s) },
	func(st *Statement, s string) (err error) { st.KeyVersion, err = parseKeyVersion(s); return err },
}

// decodeValues decodes the values of fieldOrder; the first bad one is reported.
func decodeValues(values []string) (Statement, error) {
	var st Statement
	for i, v := range values {
		if err := decoders[i](&st, v); err != nil {
			return Statement{}, fmt.Errorf("line %d: %s: %w", i+2, fieldOrder[i], err)
		}
	}
	return st, nil
}

// checkHeader requires the v1 header line and tells a statement of another
// version from something that is no statement at all.
func checkHeader(b []byte) error {
	if bytes.HasPrefix(b, []byte(Header)) {
		return nil
	}
	first, _, hasLF := bytes.Cut(b, []byte("\n"))
	want := strings.TrimSuffix(Header, "\n")
	switch {
	case string(first) == want && !hasLF:
		return errors.New("line 1: missing LF")
	case HasReservedPrefix(first):
		return fmt.Errorf("line 1: unsupported statement version %.60q, want %q", first, want)
	}
	return fmt.Errorf("line 1: not a digest statement: want %q", want)
}

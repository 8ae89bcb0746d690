package statement

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/chain"
)

// malformedCase is a statement Parse must refuse.
type malformedCase struct {
	name  string
	input []byte
}

// malformedStatements are edits of one valid statement, each breaking one
// rule of the grammar. They are also published in testdata/vectors.json.
func malformedStatements(t testing.TB) []malformedCase {
	t.Helper()
	valid, err := statementFor([]byte("hello, world\n")).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	v := string(valid)
	// line replaces the line of field name with text (no LF).
	line := func(name, text string) []byte {
		lines := strings.SplitAfter(v, "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, name+" ") {
				lines[i] = text + "\n"
				if text == "" {
					lines[i] = ""
				}
				return []byte(strings.Join(lines, ""))
			}
		}
		t.Fatalf("no field %q", name)
		return nil
	}
	value := func(name, val string) []byte { return line(name, name+" "+val) }
	lines := strings.SplitAfter(v, "\n")
	swapped := []string{lines[0], lines[2], lines[1]}
	swapped = append(swapped, lines[3:]...)
	sha256Hex := strings.TrimPrefix(strings.TrimSuffix(lines[5], "\n"), "archive-sha256 ")
	sha512Hex := strings.TrimPrefix(strings.TrimSuffix(lines[6], "\n"), "archive-sha512 ")

	return []malformedCase{
		{"empty", nil},
		{"header only", []byte(Header)},
		{"header without LF", []byte(strings.TrimSuffix(Header, "\n"))},
		{"no header", []byte(strings.TrimPrefix(v, Header))},
		{"other domain", []byte(strings.Replace(v, "digest-statement", "checkpoint", 1))},
		{"version 2 header", []byte(strings.Replace(v, "/v1\n", "/v2\n", 1))},
		{"header with trailing space", []byte(strings.Replace(v, "/v1\n", "/v1 \n", 1))},
		{"byte order mark", append([]byte("\ufeff"), valid...)},
		{"CRLF line endings", []byte(strings.ReplaceAll(v, "\n", "\r\n"))},
		{"CR in one line", value(fieldTrack, "MARKETPLACE\r")},
		{"missing final LF", valid[:len(valid)-1]},
		{"extra empty line at the end", append(bytes.Clone(valid), '\n')},
		{"empty line in the middle", []byte(strings.Replace(v, "\ntrack", "\n\ntrack", 1))},
		{"trailing field", append(bytes.Clone(valid), "comment hi\n"...)},
		{"trailing bytes", append(bytes.Clone(valid), "x"...)},
		{"trailing NUL", append(bytes.Clone(valid), 0)},
		{"fields reordered", []byte(strings.Join(swapped, ""))},
		{"duplicate field", line(fieldTrack, "version 1.4.2")},
		{"repeated last field", append(bytes.Clone(valid), "key-version 3\n"...)},
		{"unknown field", line(fieldTrack, "channel MARKETPLACE")},
		{"field name in uppercase", line(fieldTrack, "TRACK MARKETPLACE")},
		{"missing field", line(fieldKeyVersion, "")},
		{"missing middle field", line(fieldArchiveSHA512, "")},
		{"name without value", line(fieldTrack, "track")},
		{"empty value", value(fieldTrack, "")},
		{"colon separator", line(fieldTrack, "track: MARKETPLACE")},
		{"tab separator", line(fieldTrack, "track\tMARKETPLACE")},
		{"two spaces", value(fieldTrack, " MARKETPLACE")},
		{"trailing space", value(fieldTrack, "MARKETPLACE ")},
		{"leading space", line(fieldTrack, " track MARKETPLACE")},
		{"lowercase track", value(fieldTrack, "marketplace")},
		{"unknown track", value(fieldTrack, "CUSTOM")},
		{"one-segment app key", value(fieldAppKey, "timesheets")},
		{"app key too long", value(fieldAppKey, "a."+strings.Repeat("b", maxAppKeyLen-1))},
		{"non-ASCII app key", value(fieldAppKey, "com.exämple.app")},
		{"version starting with a letter", value(fieldVersion, "v1.4.2")},
		{"version too long", value(fieldVersion, strings.Repeat("1", maxVersionLen+1))},
		{"size with leading zero", value(fieldArchiveSize, "013")},
		{"size with plus sign", value(fieldArchiveSize, "+13")},
		{"negative size", value(fieldArchiveSize, "-13")},
		{"zero size", value(fieldArchiveSize, "0")},
		{"size 00", value(fieldArchiveSize, "00")},
		{"size in hex", value(fieldArchiveSize, "0xd")},
		{"size with exponent", value(fieldArchiveSize, "1e3")},
		{"size with separator", value(fieldArchiveSize, "1_000")},
		{"size beyond int64", value(fieldArchiveSize, "9223372036854775808")},
		{"uppercase SHA-256", value(fieldArchiveSHA256, strings.ToUpper(sha256Hex))},
		{"one uppercase hex digit", value(fieldArchiveSHA256, sha256Hex[:63]+"F")},
		{"short SHA-256", value(fieldArchiveSHA256, sha256Hex[:62])},
		{"odd-length SHA-256", value(fieldArchiveSHA256, sha256Hex[:63])},
		{"long SHA-256", value(fieldArchiveSHA256, sha256Hex+"00")},
		{"SHA-256 with 0x", value(fieldArchiveSHA256, "0x"+sha256Hex[2:])},
		{"non-hex SHA-512", value(fieldArchiveSHA512, "g"+sha512Hex[1:])},
		{"SHA-256 as SHA-512", value(fieldArchiveSHA512, sha256Hex)},
		{"uppercase SHA-512", value(fieldArchiveSHA512, strings.ToUpper(sha512Hex))},
		{"time without fraction", value(fieldSignedAt, "2026-03-01T11:59:30Z")},
		{"time with milliseconds", value(fieldSignedAt, "2026-03-01T11:59:30.123Z")},
		{"time with nanoseconds", value(fieldSignedAt, "2026-03-01T11:59:30.123456000Z")},
		{"time with offset", value(fieldSignedAt, "2026-03-01T11:59:30.123456+00:00")},
		{"time with lowercase t and z", value(fieldSignedAt, "2026-03-01t11:59:30.123456z")},
		{"time with space", value(fieldSignedAt, "2026-03-01 11:59:30.123456Z")},
		{"time without zone", value(fieldSignedAt, "2026-03-01T11:59:30.123456")},
		{"February 30", value(fieldSignedAt, "2026-02-30T11:59:30.123456Z")},
		{"hour 24", value(fieldSignedAt, "2026-03-01T24:00:00.000000Z")},
		{"leap second", value(fieldSignedAt, "2016-12-31T23:59:60.000000Z")},
		{"year 0000", value(fieldSignedAt, "0000-01-01T00:00:00.000000Z")},
		{"zero time", value(fieldSignedAt, "0001-01-01T00:00:00.000000Z")},
		{"Unix seconds", value(fieldSignedAt, "1772366370")},
		{"empty key id", value(fieldKeyID, "")},
		{"key id with a space", value(fieldKeyID, "marketplace signing")},
		{"key version with leading zero", value(fieldKeyVersion, "03")},
		{"key version with plus sign", value(fieldKeyVersion, "+3")},
		{"key version zero", value(fieldKeyVersion, "0")},
		{"key version beyond int32", value(fieldKeyVersion, "2147483648")},
		{"NUL in a value", value(fieldKeyID, "marketplace\x00signing")},
		{"oversize", append(bytes.Clone(valid), bytes.Repeat([]byte("x"), MaxSize)...)},
	}
}

func TestParseMalformed(t *testing.T) {
	for _, tt := range malformedStatements(t) {
		t.Run(tt.name, func(t *testing.T) {
			st, err := Parse(tt.input)
			if !errors.Is(err, chain.ErrMalformed) {
				t.Fatalf("Parse = %+v, %v; want chain.ErrMalformed", st, err)
			}
			if !st.Equal(Statement{}) {
				t.Errorf("Parse returned %+v with its error", st)
			}
			t.Logf("error: %v", err)
		})
	}
}

// TestParseErrorsNameTheProblem checks a few messages a person debugging a
// hand-made statement relies on.
func TestParseErrorsNameTheProblem(t *testing.T) {
	cases := map[string]string{}
	for _, c := range malformedStatements(t) {
		_, err := Parse(c.input)
		cases[c.name] = err.Error()
	}
	tests := []struct{ name, want string }{
		{"CRLF line endings", "carriage return"},
		{"fields reordered", `line 2: field "version" out of order, want "app-key"`},
		{"duplicate field", `line 4: duplicate field "version"`},
		{"unknown field", `line 4: unknown field "channel"`},
		{"missing field", `missing field "key-version"`},
		{"trailing field", "data after the last field"},
		{"size with leading zero", "line 5: archive-size: not a canonical decimal"},
		{"uppercase SHA-256", "line 6: archive-sha256: not lowercase hex"},
		{"version 2 header", "unsupported statement version"},
		{"missing final LF", "missing final LF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cases[tt.name]; !strings.Contains(got, tt.want) {
				t.Fatalf("error %q does not contain %q", got, tt.want)
			}
		})
	}
}

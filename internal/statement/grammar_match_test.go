package statement

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

// The grammar as regular expressions: the oracle the byte-loop matchers
// are held to.
var grammarRegexps = []struct {
	name  string
	re    *regexp.Regexp
	match func(string) bool
	seeds []string
}{
	{"app key", regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9][A-Za-z0-9_-]*)+$`), matchAppKey,
		[]string{"com.example.app", "a.b", "a", "a.", ".a", "a..b", "a._b", "a.b_", "1a.b", "a.b-c.d_e", "a-.b", "a.b.", "A.B9", "a.\u00e9", "a.b\n"}},
	{"version", regexp.MustCompile(`^[0-9][0-9A-Za-z.+_-]*$`), matchVersion,
		[]string{"1", "1.0.0", "2.0.0-rc.1+build.7", "a1", "", "1 2", "1/2", "1\n", "0..", "9_"}},
	{"key id", regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]*$`), matchKeyID,
		[]string{"k", "alias/x", "arn:aws:kms:eu-west-1:1:key/abc", "-k", ".k", "k k", "k\\", "k\n", ""}},
	{"decimal", regexp.MustCompile(`^(0|[1-9][0-9]*)$`), matchDecimal,
		[]string{"0", "00", "01", "10", "", "-1", "+1", "1a", "9223372036854775807", " 1"}},
	{"lowercase hex", regexp.MustCompile(`^[0-9a-f]*$`), matchLowerHex,
		[]string{"00ff", "", "0F", "g", "abcdef0123456789", "ab cd"}},
	{"signed at", regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$`), matchSignedAt,
		[]string{"2026-12-06T12:00:00.000000Z", "2026-12-06T12:00:00.00000Z", "2026-12-06T12:00:00.0000000Z", "2026-12-06 12:00:00.000000Z",
			"2026-12-06T12:00:00.000000z", "2026-12-06T12:00:00,000000Z", "2026-12-06T12:00:00.000000Z\n", "a026-12-06T12:00:00.000000Z"}},
}

// TestMatchersAgreeWithRegexps checks every matcher against its regular
// expression on edge cases and on 100,000 random strings each, built from
// the characters the grammar treats specially plus bytes it never allows
// (space, newline, non-ASCII), and on mutations of valid values.
func TestMatchersAgreeWithRegexps(t *testing.T) {
	const alphabet = "aAzZfFgG09-_.+:/\\ \nT Z\xc3\xa9\x00"
	r := rand.New(rand.NewPCG(1, 2))
	for _, g := range grammarRegexps {
		check := func(s string) {
			if got, want := g.match(s), g.re.MatchString(s); got != want {
				t.Errorf("%s %q: matcher says %v, regexp %v", g.name, s, got, want)
			}
		}
		for _, s := range g.seeds {
			check(s)
		}
		for range 100000 {
			b := make([]byte, r.IntN(12))
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
			check(string(b))
			// A valid-looking value with one byte changed, inserted or removed.
			seed := []byte(g.seeds[0])
			switch i := r.IntN(len(seed)); r.IntN(3) {
			case 0:
				seed[i] = alphabet[r.IntN(len(alphabet))]
			case 1:
				seed = append(seed[:i], append([]byte{alphabet[r.IntN(len(alphabet))]}, seed[i:]...)...)
			default:
				seed = append(seed[:i], seed[i+1:]...)
			}
			check(string(seed))
		}
	}
}

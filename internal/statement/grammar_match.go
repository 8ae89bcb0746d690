package statement

// Matchers for the statement grammar's text fields, written as byte loops:
// they run for every field when a statement is built and again when its
// signature file is checked, and the regular expressions they replace were
// ≈ 8 % of the instructions of a batch signature (docs/BENCHMARKS.md).
// TestMatchersAgreeWithRegexps holds each to its regular expression.

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }

// matchAppKey is ^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9][A-Za-z0-9_-]*)+$.
func matchAppKey(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	dots, afterDot := 0, false
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case afterDot:
			if !isAlnum(c) {
				return false
			}
			afterDot = false
		case c == '.':
			dots++
			afterDot = true
		case !isAlnum(c) && c != '_' && c != '-':
			return false
		}
	}
	return dots > 0 && !afterDot
}

// matchVersion is ^[0-9][0-9A-Za-z.+_-]*$.
func matchVersion(s string) bool {
	if s == "" || !isDigit(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '+' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// matchKeyID is ^[A-Za-z0-9][A-Za-z0-9._:/-]*$.
func matchKeyID(s string) bool {
	if s == "" || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != ':' && c != '/' && c != '-' {
			return false
		}
	}
	return true
}

// matchDecimal is ^(0|[1-9][0-9]*)$.
func matchDecimal(s string) bool {
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// matchLowerHex is ^[0-9a-f]*$.
func matchLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isDigit(c) && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// signedAtShape is TimeLayout's shape, '0' standing for any digit.
const signedAtShape = "0000-00-00T00:00:00.000000Z"

// matchSignedAt is ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$.
func matchSignedAt(s string) bool {
	if len(s) != len(signedAtShape) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if signedAtShape[i] == '0' {
			if !isDigit(s[i]) {
				return false
			}
		} else if s[i] != signedAtShape[i] {
			return false
		}
	}
	return true
}

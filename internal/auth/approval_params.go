package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ApprovalTarget is the canonical target of an action with parameters:
// a JSON object with its keys sorted, and every non-ASCII character
// escaped, so that it is printable ASCII and one set of parameters has
// exactly one form. Actions put every parameter that changes what they do
// in it (what is acted on, effective time, reason, backend, options), so
// an approval of the target approves all of them at once, and the action
// presents the target it computes from its own request: any parameter
// changed after the approval makes the targets differ.
func ApprovalTarget(params map[string]string) string {
	b, err := json.Marshal(params) // map keys come out sorted
	if err != nil {
		panic(fmt.Sprintf("auth: approval target: %v", err)) // a map[string]string always marshals
	}
	var out strings.Builder
	for _, r := range string(b) {
		switch {
		case r == utf8.RuneError:
			out.WriteString(`\ufffd`)
		case r >= 0x80:
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(&out, `\u%04x\u%04x`, r1, r2)
				continue
			}
			fmt.Fprintf(&out, `\u%04x`, r)
		default:
			out.WriteRune(r)
		}
	}
	return out.String()
}

// ApprovalParamsSHA256 is the hash an approval binds: lowercase hex
// SHA-256 of action, a newline and target. The request stores it, the
// approval, its use and the log leaves of all three carry it, and `ledger
// verify` recomputes it (the database computes the same: migrations/00040).
func ApprovalParamsSHA256(action, target string) string {
	sum := sha256.Sum256([]byte(action + "\n" + target))
	return hex.EncodeToString(sum[:])
}

// SameIdentity reports whether two identity strings name the same
// person, whatever the case or surrounding white space: the two-person
// rule compares identities this way, so "Alice" cannot approve "alice".
func SameIdentity(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

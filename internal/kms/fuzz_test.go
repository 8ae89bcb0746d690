package kms

import (
	"strings"
	"testing"
)

// FuzzParseURI: key URIs come from configuration and RPCs. A parsed URI
// round-trips through String, and secret attributes are never accepted.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{"softkms:path=/k.key", "pkcs11:token=a;object=b", "awskms:key-id=arn:aws:kms:x", "x:", "pkcs11:pin-value=1", "a:b=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			return
		}
		for name := range secretAttrs {
			if u.Has(name) {
				t.Fatalf("secret attribute %q accepted", name)
			}
		}
		again, err := ParseURI(u.String())
		if err != nil || again.String() != u.String() {
			t.Fatalf("%q → %q does not round-trip: %v", s, u.String(), err)
		}
		if strings.Contains(u.String(), "\n") {
			t.Fatalf("canonical form contains a newline: %q", u.String())
		}
	})
}

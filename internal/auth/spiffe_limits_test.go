package auth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/auth"
)

// TestParseSubjectCharacterSets tries every byte (but '/', the separator)
// in a trust domain and in a path segment: exactly the characters the
// SPIFFE ID standard allows pass, so the characters on either side of each
// allowed range ('`' '{' '@' '[' '/' ':') are refused and the ends of each
// range ('a' 'z' 'A' 'Z' '0' '9') accepted.
func TestParseSubjectCharacterSets(t *testing.T) {
	const (
		lower  = "abcdefghijklmnopqrstuvwxyz"
		digits = "0123456789"
		punct  = ".-_"
	)
	tdChars := lower + digits + punct
	pathChars := tdChars + strings.ToUpper(lower)
	for b := range 256 {
		c := string(rune(b))
		if b >= 0x80 {
			c = string([]byte{byte(b)})
		}
		if c == "/" {
			continue
		}
		td, _, err := auth.ParseSubject("spiffe://t" + c + "d/w")
		if ok := strings.Contains(tdChars, c); (err == nil) != ok || (ok && td != "t"+c+"d") || (!ok && !errors.Is(err, auth.ErrInvalidSubject)) {
			t.Errorf("trust domain with byte %#02x: td %q, err %v; want accepted %v", b, td, err, ok)
		}
		_, path, err := auth.ParseSubject("spiffe://appsign/w" + c + "x")
		if ok := strings.Contains(pathChars, c); (err == nil) != ok || (ok && path != "/w"+c+"x") || (!ok && !errors.Is(err, auth.ErrInvalidSubject)) {
			t.Errorf("path with byte %#02x: path %q, err %v; want accepted %v", b, path, err, ok)
		}
	}
}

// TestParseSubjectLengthLimits: the 2048-byte ID and the 255-character
// trust domain are allowed at the limit and refused one past it.
func TestParseSubjectLengthLimits(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"2048-byte ID", "spiffe://appsign/" + strings.Repeat("a", 2048-len("spiffe://appsign/")), true},
		{"2049-byte ID", "spiffe://appsign/" + strings.Repeat("a", 2049-len("spiffe://appsign/")), false},
		{"255-character trust domain", "spiffe://" + strings.Repeat("t", 255) + "/a", true},
		{"256-character trust domain", "spiffe://" + strings.Repeat("t", 256) + "/a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := auth.ParseSubject(tt.in); (err == nil) != tt.ok || (!tt.ok && !errors.Is(err, auth.ErrInvalidSubject)) {
				t.Fatalf("ParseSubject(%d bytes) = %v, want accepted %v", len(tt.in), err, tt.ok)
			}
		})
	}
}

// TestPolicyAppKeyPrefixLength: a vendor's app-key prefix may be 255
// characters, not 256.
func TestPolicyAppKeyPrefixLength(t *testing.T) {
	doc := func(prefix string) string {
		return "version: 1\ntrust_domain: appsign\nidentities:\n  - id: spiffe://appsign/v\n    roles: [vendor]\n    vendor: acme\n    app_key_prefixes: [" + prefix + "]\n"
	}
	for _, n := range []int{255, 256} {
		prefix := "com." + strings.Repeat("a", n-len("com."))
		_, err := auth.ParsePolicy([]byte(doc(prefix)))
		if ok := n <= 255; (err == nil) != ok || (!ok && !errors.Is(err, auth.ErrInvalidPolicy)) {
			t.Errorf("%d-character app-key prefix: %v, want accepted %v", n, err, ok)
		}
	}
}

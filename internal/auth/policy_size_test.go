package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicySizeLimitIsExact: a policy of exactly maxPolicySize bytes is
// read whole and accepted, from bytes or from a file; one byte more is
// refused, not cut. The document ends in the last byte of the limit, so a
// reader that stopped one byte early would see broken YAML.
func TestPolicySizeLimitIsExact(t *testing.T) {
	body := "\nversion: 1\ntrust_domain: appsign\nidentities:\n  - id: spiffe://appsign/a\n    roles: [auditor]"
	doc := "# " + strings.Repeat("x", maxPolicySize-len(body)-2) + body
	if len(doc) != maxPolicySize {
		t.Fatalf("test document is %d bytes, want %d", len(doc), maxPolicySize)
	}
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		doc  string
		ok   bool
	}{
		{"at the limit", doc, true},
		{"one byte over", doc + "\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy([]byte(tt.doc))
			if (err == nil) != tt.ok || (!tt.ok && !errors.Is(err, ErrInvalidPolicy)) {
				t.Fatalf("ParsePolicy = %v, want ok %v", err, tt.ok)
			}
			if tt.ok && len(p.exact) != 1 {
				t.Fatalf("ParsePolicy kept %d identities, want 1", len(p.exact))
			}
			path := filepath.Join(dir, "policy.yaml")
			if err := os.WriteFile(path, []byte(tt.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadPolicy(path); (err == nil) != tt.ok || (!tt.ok && !errors.Is(err, ErrInvalidPolicy)) {
				t.Fatalf("LoadPolicy = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

package auth_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/auth"
)

func TestParsePolicyErrors(t *testing.T) {
	const head = "version: 1\ntrust_domain: appsign\n"
	tests := []struct {
		name, doc, wantSub string
	}{
		{"empty", "", "empty policy"},
		{"wrong version", "version: 2\ntrust_domain: appsign\n", "version"},
		{"bad trust domain", "version: 1\ntrust_domain: App Sign\n", "trust_domain"},
		{"unknown field", head + "identitys: []\n", "identitys"},
		{"unknown rule field", head + "identities:\n  - id: spiffe://appsign/a\n    roles: [auditor]\n    admin: true\n", "admin"},
		{"duplicate key", head + "trust_domain: other\n", "already defined"},
		{"two documents", head + "---\nversion: 1\n", "more than one"},
		{"unknown role", head + "identities:\n  - id: spiffe://appsign/a\n    roles: [root]\n", `unknown role "root"`},
		{"duplicate role", head + "identities:\n  - id: spiffe://appsign/a\n    roles: [auditor, auditor]\n", "listed twice"},
		{"roles missing", head + "identities:\n  - id: spiffe://appsign/a\n", "roles: required"},
		{"id and prefix", head + "identities:\n  - id: spiffe://appsign/a\n    prefix: spiffe://appsign/b/\n    roles: [auditor]\n", "not both"},
		{"neither id nor prefix", head + "identities:\n  - roles: [auditor]\n", "set id"},
		{"duplicate id", head + "identities:\n  - id: spiffe://appsign/a\n    roles: [auditor]\n  - id: spiffe://appsign/a\n    roles: [pipeline]\n", "listed twice"},
		{"duplicate prefix", head + "identities:\n  - prefix: spiffe://appsign/a/\n    roles: [auditor]\n  - prefix: spiffe://appsign/a/\n    roles: [pipeline]\n", "listed twice"},
		{"prefix without slash", head + "identities:\n  - prefix: spiffe://appsign/pipeline\n    roles: [pipeline]\n", "must end with '/'"},
		{"prefix in other domain", head + "identities:\n  - prefix: spiffe://other/a/\n    roles: [pipeline]\n", "outside trust domain"},
		{"id in other domain", head + "identities:\n  - id: spiffe://other/a\n    roles: [pipeline]\n", "outside trust domain"},
		{"malformed id", head + "identities:\n  - id: spiffe://appsign/a/../b\n    roles: [pipeline]\n", "segment"},
		{"vendor without handle", head + "identities:\n  - id: spiffe://appsign/v\n    roles: [vendor]\n    app_key_prefixes: [com.acme]\n", "vendor handle"},
		{"vendor without app keys", head + "identities:\n  - id: spiffe://appsign/v\n    roles: [vendor]\n    vendor: acme\n", "app_key_prefixes"},
		{"vendor claims a TLD", head + "identities:\n  - id: spiffe://appsign/v\n    roles: [vendor]\n    vendor: acme\n    app_key_prefixes: [com]\n", "two or more segments"},
		{"vendor fields on auditor", head + "identities:\n  - id: spiffe://appsign/a\n    roles: [auditor]\n    vendor: acme\n", "vendor role only"},
		{"reflection public and roles", head + "reflection:\n  public: true\n  roles: [auditor]\n", "not both"},
		{"reflection unknown role", head + "reflection:\n  roles: [admin]\n", "unknown role"},
		{"loopback prefix", head + "loopback:\n  prefix: spiffe://appsign/dev/\n  roles: [auditor]\n", "not a prefix"},
		{"too large", head + "# " + strings.Repeat("x", 1<<20) + "\n", "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := auth.ParsePolicy([]byte(tt.doc))
			if !errors.Is(err, auth.ErrInvalidPolicy) || !strings.Contains(err.Error(), tt.wantSub) {
				t.Fatalf("ParsePolicy err = %v, want ErrInvalidPolicy mentioning %q", err, tt.wantSub)
			}
		})
	}
}

func TestPolicyLookup(t *testing.T) {
	p := mustPolicy(t, `
version: 1
trust_domain: appsign
identities:
  - prefix: spiffe://appsign/
    roles: [auditor]
  - prefix: spiffe://appsign/pipeline/
    roles: [pipeline]
  - prefix: spiffe://appsign/pipeline/staging/
    roles: []
  - id: spiffe://appsign/pipeline/staging/canary
    roles: [pipeline, auditor]
  - id: spiffe://appsign/vendor/acme/ci
    roles: [vendor]
    vendor: acme
    app_key_prefixes: [com.acme]
`)
	tests := []struct {
		name, subject string
		wantOK        bool
		wantRoles     []auth.Role
	}{
		{"exact beats prefixes", "spiffe://appsign/pipeline/staging/canary", true, []auth.Role{auth.RolePipeline, auth.RoleAuditor}},
		{"longest prefix wins", "spiffe://appsign/pipeline/staging/other", true, []auth.Role{}},
		{"shorter prefix", "spiffe://appsign/pipeline/review-1", true, []auth.Role{auth.RolePipeline}},
		{"prefix stops at a segment", "spiffe://appsign/pipeline-evil/x", true, []auth.Role{auth.RoleAuditor}},
		{"trust-domain-wide prefix", "spiffe://appsign/someone", true, []auth.Role{auth.RoleAuditor}},
		{"other trust domain", "spiffe://evil/pipeline/review-1", false, nil},
		{"malformed subject under a prefix", "spiffe://appsign/pipeline/../x", false, nil},
		{"vendor", "spiffe://appsign/vendor/acme/ci", true, []auth.Role{auth.RoleVendor}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok := p.Lookup(tt.subject)
			if ok != tt.wantOK {
				t.Fatalf("Lookup(%q) ok = %v, want %v", tt.subject, ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if id.Subject != tt.subject || !slices.Equal(id.Roles, tt.wantRoles) {
				t.Fatalf("Lookup(%q) = %+v, want roles %v", tt.subject, id, tt.wantRoles)
			}
		})
	}

	// Identities handed out are copies: changing one leaves the policy alone.
	id, _ := p.Lookup("spiffe://appsign/vendor/acme/ci")
	id.Roles[0] = auth.RoleSecurityAdmin
	id.AppKeyPrefixes[0] = "com"
	again, _ := p.Lookup("spiffe://appsign/vendor/acme/ci")
	if again.Roles[0] != auth.RoleVendor || again.AppKeyPrefixes[0] != "com.acme" || again.Vendor != "acme" {
		t.Fatalf("policy changed through a returned identity: %+v", again)
	}
}

func TestPolicyReflectionAndLoopback(t *testing.T) {
	base := "version: 1\ntrust_domain: appsign\n"
	tests := []struct {
		name         string
		doc          string
		wantRefl     auth.Access
		wantLoopback bool
	}{
		{"reflection closed by default", base, auth.Access{}, false},
		{"reflection for roles", base + "reflection:\n  roles: [security-admin]\n", auth.Access{Roles: []auth.Role{auth.RoleSecurityAdmin}}, false},
		{"reflection public", base + "reflection:\n  public: true\n", auth.Access{Public: true}, false},
		{"loopback identity", base + "loopback:\n  id: spiffe://appsign/dev/me\n  roles: [auditor]\n", auth.Access{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPolicy(t, tt.doc)
			for _, m := range auth.ReflectionMethods() {
				got, ok := p.Access(m)
				if !ok || got.Public != tt.wantRefl.Public || !slices.Equal(got.Roles, tt.wantRefl.Roles) {
					t.Fatalf("Access(%s) = %+v, %v; want %+v", m, got, ok, tt.wantRefl)
				}
			}
			id, ok := p.LoopbackIdentity()
			if ok != tt.wantLoopback || ok && (id.Subject != "spiffe://appsign/dev/me" || !slices.Equal(id.Roles, []auth.Role{auth.RoleAuditor})) {
				t.Fatalf("LoopbackIdentity = %+v, %v", id, ok)
			}
		})
	}
}

func TestLoadPolicy(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(good, []byte(testPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.LoadPolicy(good); err != nil {
		t.Fatalf("LoadPolicy(good): %v", err)
	}
	if _, err := auth.LoadPolicy(bad); !errors.Is(err, auth.ErrInvalidPolicy) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("LoadPolicy(bad) = %v, want ErrInvalidPolicy naming the file", err)
	}
	if _, err := auth.LoadPolicy(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadPolicy(missing) = %v", err)
	}
}

func TestDocExamplePolicyParses(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	// The example is the indented block after "# Policy file" that starts
	// with "version:".
	var lines []string
	in := false
	for _, l := range strings.Split(string(src), "\n") {
		body, isCode := strings.CutPrefix(l, "//\t")
		switch {
		case isCode && strings.HasPrefix(body, "version:"):
			in = true
		case in && !isCode:
			in = false
		}
		if in {
			lines = append(lines, body)
		}
		if !in && len(lines) > 0 {
			break
		}
	}
	p := mustPolicy(t, strings.Join(lines, "\n"))
	if id, ok := p.Lookup("spiffe://appsign/vendor/acme/ci"); !ok || !id.OwnsAppKey("com.acme.timesheets") {
		t.Fatalf("example policy: vendor lookup = %+v, %v", id, ok)
	}
}

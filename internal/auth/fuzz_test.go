package auth_test

import (
	"crypto/x509"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/auth"
)

// FuzzParseSubject: ParseSubject never panics; what it accepts is
// canonical (trust domain and path rebuild the input), has no characters
// that could smuggle a second meaning, and survives a trip through a
// certificate's URI SAN unchanged.
func FuzzParseSubject(f *testing.F) {
	for _, s := range []string{
		"spiffe://appsign/pipeline/review-1",
		"spiffe://appsign/vendor/acme/ci",
		"spiffe://a.b-c_d/x/y.z",
		"spiffe://appsign",
		"spiffe://appsign/",
		"spiffe://appsign//x",
		"spiffe://appsign/a/../b",
		"spiffe://appsign/a%2Fb",
		"spiffe://u@appsign:1/a?q#f",
		"SPIFFE://appsign/a",
		"https://appsign/a",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		td, path, err := auth.ParseSubject(s)
		if err != nil {
			return
		}
		if "spiffe://"+td+path != s {
			t.Fatalf("accepted %q but it rebuilds as %q", s, "spiffe://"+td+path)
		}
		if strings.ContainsAny(s[len("spiffe://"):], "?#%@: \\") || strings.Contains(path, "//") || strings.HasSuffix(path, "/") {
			t.Fatalf("accepted %q with a forbidden character or empty segment", s)
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("accepted %q but net/url refuses it: %v", s, err)
		}
		got, err := auth.SubjectFromCertificate(&x509.Certificate{URIs: []*url.URL{u}})
		if err != nil || got != s {
			t.Fatalf("certificate round trip of %q = %q, %v", s, got, err)
		}
	})
}

// FuzzParsePolicy: ParsePolicy never panics, and a policy it accepts is
// coherent: every identity it returns has valid roles, vendor scopes only
// on vendors, a subject in the trust domain, and the method table still
// refuses unlisted methods.
func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(testPolicy))
	f.Add([]byte(testPolicy + "reflection:\n  public: true\nloopback:\n  id: spiffe://appsign/dev/x\n  roles: [auditor]\n"))
	f.Add([]byte("version: 1\ntrust_domain: appsign\nidentities:\n  - prefix: spiffe://appsign/\n    roles: []\n"))
	f.Add([]byte("version: 1\ntrust_domain: appsign\nidentities: [{id: 'spiffe://appsign/a', roles: [vendor], vendor: v, app_key_prefixes: [a.b]}]\n"))
	f.Add([]byte("version: 1\ntrust_domain: appsign\nidentities: &a [*a]\n"))
	f.Add([]byte("{version: 1, trust_domain: x}"))
	f.Add([]byte("- - -"))
	f.Add([]byte(""))
	probes := []string{
		"spiffe://appsign/pipeline/review-1",
		"spiffe://appsign/vendor/acme/ci",
		"spiffe://appsign/a",
		"spiffe://appsign/dev/x",
		"spiffe://x/a",
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := auth.ParsePolicy(data)
		if err != nil {
			return
		}
		if _, ok := p.Access("/fuzz.Unlisted/Method"); ok {
			t.Fatal("an unlisted method has an entry")
		}
		for _, s := range probes {
			id, ok := p.Lookup(s)
			if !ok {
				continue
			}
			td, _, err := auth.ParseSubject(id.Subject)
			if err != nil || td != p.TrustDomain() || id.Subject != s {
				t.Fatalf("Lookup(%q) = subject %q outside trust domain %q (%v)", s, id.Subject, p.TrustDomain(), err)
			}
			for _, r := range id.Roles {
				if !r.Valid() {
					t.Fatalf("Lookup(%q) has invalid role %q", s, r)
				}
			}
			if !slices.Contains(id.Roles, auth.RoleVendor) && (id.Vendor != "" || len(id.AppKeyPrefixes) > 0) {
				t.Fatalf("Lookup(%q): non-vendor with vendor scope %+v", s, id)
			}
			if slices.Contains(id.Roles, auth.RoleVendor) && len(id.AppKeyPrefixes) == 0 {
				t.Fatalf("Lookup(%q): vendor without app keys", s)
			}
		}
	})
}

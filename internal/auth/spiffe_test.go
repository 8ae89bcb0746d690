package auth_test

import (
	"crypto/x509"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/auth"
)

func TestParseSubject(t *testing.T) {
	tests := []struct {
		name, in   string
		td, path   string
		wantErrSub string
	}{
		{"pipeline", "spiffe://appsign/pipeline/review-1", "appsign", "/pipeline/review-1", ""},
		{"deep path", "spiffe://appsign/vendor/acme/ci_2.build", "appsign", "/vendor/acme/ci_2.build", ""},
		{"dotted trust domain", "spiffe://signer.example-corp.com/a", "signer.example-corp.com", "/a", ""},
		{"no path", "spiffe://appsign", "", "", "no workload path"},
		{"root path", "spiffe://appsign/", "", "", "no workload path"},
		{"trailing slash", "spiffe://appsign/pipeline/", "", "", "empty segment"},
		{"double slash", "spiffe://appsign/a//b", "", "", "empty segment"},
		{"dot segment", "spiffe://appsign/a/./b", "", "", `"." segment`},
		{"dot-dot segment", "spiffe://appsign/a/../b", "", "", `".." segment`},
		{"uppercase scheme", "SPIFFE://appsign/a", "", "", "not a spiffe://"},
		{"https", "https://appsign/a", "", "", "not a spiffe://"},
		{"uppercase trust domain", "spiffe://AppSign/a", "", "", "trust domain"},
		{"empty trust domain", "spiffe:///a", "", "", "trust domain"},
		{"port", "spiffe://appsign:443/a", "", "", "trust domain"},
		{"userinfo", "spiffe://u@appsign/a", "", "", "trust domain"},
		{"query", "spiffe://appsign/a?x=1", "", "", "path may use"},
		{"fragment", "spiffe://appsign/a#x", "", "", "path may use"},
		{"percent-encoding", "spiffe://appsign/a%2Fb", "", "", "path may use"},
		{"space", "spiffe://appsign/a b", "", "", "path may use"},
		{"non-ascii", "spiffe://appsign/pipeliné", "", "", "path may use"},
		{"too long", "spiffe://appsign/" + strings.Repeat("a", 2048), "", "", "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td, path, err := auth.ParseSubject(tt.in)
			if tt.wantErrSub != "" {
				if !errors.Is(err, auth.ErrInvalidSubject) || !strings.Contains(err.Error(), tt.wantErrSub) {
					t.Fatalf("ParseSubject(%q) err = %v, want ErrInvalidSubject mentioning %q", tt.in, err, tt.wantErrSub)
				}
				return
			}
			if err != nil || td != tt.td || path != tt.path {
				t.Fatalf("ParseSubject(%q) = %q, %q, %v; want %q, %q", tt.in, td, path, err, tt.td, tt.path)
			}
		})
	}
}

func TestSubjectFromCertificate(t *testing.T) {
	uris := func(ss ...string) []*url.URL {
		var out []*url.URL
		for _, s := range ss {
			u, err := url.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, u)
		}
		return out
	}
	tests := []struct {
		name    string
		cert    *x509.Certificate
		want    string
		wantErr bool
	}{
		{"one SPIFFE ID", &x509.Certificate{URIs: uris("spiffe://appsign/auditor/bob")}, "spiffe://appsign/auditor/bob", false},
		{"DNS name only", &x509.Certificate{DNSNames: []string{"pipeline.appsign"}}, "", true},
		{"two URI SANs", &x509.Certificate{URIs: uris("spiffe://appsign/a", "spiffe://appsign/b")}, "", true},
		{"not SPIFFE", &x509.Certificate{URIs: uris("https://appsign/a")}, "", true},
		{"escaped path", &x509.Certificate{URIs: uris("spiffe://appsign/a%2Fb")}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.SubjectFromCertificate(tt.cert)
			if tt.wantErr {
				if !errors.Is(err, auth.ErrInvalidSubject) {
					t.Fatalf("err = %v, want ErrInvalidSubject", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestOwnsAppKey(t *testing.T) {
	id := auth.Identity{Roles: []auth.Role{auth.RoleVendor}, AppKeyPrefixes: []string{"com.acme", "org.example.tool."}}
	tests := []struct {
		key  string
		want bool
	}{
		{"com.acme", true},
		{"com.acme.timesheets", true},
		{"com.acme.a.b", true},
		{"com.acmex.timesheets", false},
		{"com.acm", false},
		{"org.example.tool", true},
		{"org.example.tool.x", true},
		{"org.example.toolbox", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := id.OwnsAppKey(tt.key); got != tt.want {
				t.Fatalf("OwnsAppKey(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

package auth_test

import (
	"errors"
	"testing"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/auth"
)

// TestVendorCertificateRule: a private-build certificate names the app keys
// it may sign, so a vendor asking for one is checked like a signing request:
// a vendor identity with a vendor name, only app keys under its prefixes,
// and at least one (an empty list must not mean "any").
func TestVendorCertificateRule(t *testing.T) {
	check := auth.DefaultMethods()[signerv1.TrustService_IssueVendorCertificate_FullMethodName].Check
	if check == nil {
		t.Fatal("IssueVendorCertificate has no request rule")
	}
	acme := auth.Identity{Subject: "spiffe://appsign/vendor/acme/ci", Roles: []auth.Role{auth.RoleVendor}, Vendor: "acme", AppKeyPrefixes: []string{"com.acme"}}
	noName := acme
	noName.Vendor = ""
	pipeline := auth.Identity{Subject: "spiffe://appsign/pipeline/review-1", Roles: []auth.Role{auth.RolePipeline}, Vendor: "acme", AppKeyPrefixes: []string{"com.acme"}}
	tests := []struct {
		name    string
		id      auth.Identity
		req     any
		allowed bool
	}{
		{"own app keys", acme, &signerv1.IssueVendorCertificateRequest{AppKeys: []string{"com.acme", "com.acme.timesheets"}}, true},
		{"one key of another vendor", acme, &signerv1.IssueVendorCertificateRequest{AppKeys: []string{"com.acme.timesheets", "com.globex.app"}}, false},
		{"look-alike app key", acme, &signerv1.IssueVendorCertificateRequest{AppKeys: []string{"com.acmex"}}, false},
		{"no app keys", acme, &signerv1.IssueVendorCertificateRequest{}, false},
		{"vendor identity without a vendor name", noName, &signerv1.IssueVendorCertificateRequest{AppKeys: []string{"com.acme"}}, false},
		{"not a vendor", pipeline, &signerv1.IssueVendorCertificateRequest{AppKeys: []string{"com.acme"}}, false},
		{"another request type", acme, &signerv1.SignDigestRequest{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := check(t.Context(), tt.id, tt.req)
			if tt.allowed != (err == nil) {
				t.Fatalf("rule = %v, want allowed %v", err, tt.allowed)
			}
			if err != nil && !errors.Is(err, auth.ErrPermissionDenied) {
				t.Errorf("rule error %v is not ErrPermissionDenied", err)
			}
		})
	}
}

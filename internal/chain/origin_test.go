package chain

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	"net/url"
	"testing"
	"time"
)

// TestOriginOfChain: the origin follows the CA the certificate validated
// through, never what the signing certificate claims about itself.
func TestOriginOfChain(t *testing.T) {
	c := newTestChain(t, testNow)
	pbKey, vendorKey, otherKey := newKey(t), newKey(t), newKey(t)
	pbCA, err := NewPrivateBuildCA(rand.Reader, c.root, c.rootKey, pubOf(pbKey), "test private-build CA", testNow, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	vendor, err := NewPrivateBuildCertificate(rand.Reader, pbCA, pbKey, pubOf(vendorKey), "acme", []string{"com.acme.a"}, testNow, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// The private-build CA issuing a certificate with neither the policy
	// nor app-key URIs: still private-build, by its issuer.
	bareVendor := craftCert(t, leafTemplate(testNow, time.Hour, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}), pbCA, pubOf(otherKey), pbKey)
	// A marketplace-CA certificate that claims the private-build policy and
	// an app key: the claim does not make it private-build.
	claims := leafTemplate(testNow, time.Hour, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning})
	claims.Policies = []x509.OID{PrivateBuildPolicy()}
	claims.URIs = []*url.URL{{Scheme: "urn", Opaque: "appsign:app-key:com.acme.a"}}
	claiming := craftCert(t, claims, c.inter, pubOf(otherKey), c.interKey)
	custom := selfSignedLeaf(t, newKey(t), testNow, time.Hour, nil)
	ts := NewTrustStore(c.root, c.inter, pbCA, custom)

	mustPath := func(cert *x509.Certificate) []*x509.Certificate {
		t.Helper()
		p, err := ts.VerifySigningCertificate(cert, testNow)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name           string
		path           []*x509.Certificate
		fromTrustStore bool
		want           string
	}{
		{"marketplace CA", mustPath(c.leaf), false, OriginMarketplace},
		{"private-build CA", mustPath(vendor), false, OriginPrivateBuild},
		{"private-build CA, certificate without scope", mustPath(bareVendor), false, OriginPrivateBuild},
		{"marketplace CA, certificate claiming private-build", mustPath(claiming), false, OriginMarketplace},
		{"trust-store certificate", []*x509.Certificate{custom}, true, OriginCustom},
		{"no path", nil, false, OriginUnknown},
		{"no path, even from the trust store", nil, true, OriginUnknown},
		{"a lone certificate is not a path", []*x509.Certificate{c.leaf}, false, OriginUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OriginOfChain(tt.path, tt.fromTrustStore); got != tt.want {
				t.Errorf("OriginOfChain = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCheckOriginScope: a private-build signature is only good for the app
// keys its certificate names; other origins are held to a scope only if
// their certificate carries one.
func TestCheckOriginScope(t *testing.T) {
	c := newTestChain(t, testNow)
	pbKey := newKey(t)
	pbCA, err := NewPrivateBuildCA(rand.Reader, c.root, c.rootKey, pubOf(pbKey), "test private-build CA", testNow, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	vendor, err := NewPrivateBuildCertificate(rand.Reader, pbCA, pbKey, pubOf(newKey(t)), "acme", []string{"com.acme.a"}, testNow, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bare := craftCert(t, leafTemplate(testNow, time.Hour, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}), pbCA, pubOf(newKey(t)), pbKey)
	tests := []struct {
		name    string
		origin  string
		cert    *x509.Certificate
		appKey  string
		wantErr bool
	}{
		{"private build for its app", OriginPrivateBuild, vendor, "com.acme.a", false},
		{"private build for another vendor's app", OriginPrivateBuild, vendor, "com.globex.a", true},
		{"private build with no app key named", OriginPrivateBuild, vendor, "", true},
		{"private-build origin, certificate names no app key", OriginPrivateBuild, bare, "com.acme.a", true},
		{"marketplace certificate, any app", OriginMarketplace, c.leaf, "com.globex.a", false},
		{"marketplace origin, certificate with a scope is held to it", OriginMarketplace, vendor, "com.globex.a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckOriginScope(tt.origin, tt.cert, tt.appKey)
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrOutOfScope)) {
				t.Errorf("CheckOriginScope = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

package chain

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"testing"
	"time"
)

// caTemplate is a CA certificate template with the given extended key
// usages (nil: no extension, i.e. unrestricted).
func caTemplate(name string, eku []x509.ExtKeyUsage, pathLen int) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             testNow.Add(-time.Hour),
		NotAfter:              testNow.Add(365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            pathLen,
		MaxPathLenZero:        pathLen == 0,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           eku,
	}
}

// TestVerifyEnforcesExtendedKeyUsageAlongTheChain is hand-made survivor 2 of
// issue 17. A CA whose extended key usage is limited to, say, TLS server
// certificates (a web PKI intermediate a customer happens to trust, or one
// an attacker got issued) must not be able to issue app-signing
// certificates: every certificate of the path must allow code signing (or
// any usage), not only the leaf. PKIX validation with KeyUsages: Any would
// accept these chains.
func TestVerifyEnforcesExtendedKeyUsageAlongTheChain(t *testing.T) {
	codeSigning := []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	serverAuth := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	archive := []byte("app.jar bytes")

	tests := []struct {
		name              string
		rootEKU, interEKU []x509.ExtKeyUsage
		wantErr           error // nil: trusted
	}{
		{"intermediate for server auth only", nil, serverAuth, ErrUntrusted},
		{"intermediate for server and client auth", nil, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, ErrUntrusted},
		{"intermediate for email protection only", nil, []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}, ErrUntrusted},
		{"root for server auth only", serverAuth, codeSigning, ErrUntrusted},
		{"intermediate for code signing", nil, codeSigning, nil},
		{"intermediate for server auth and code signing", nil, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageCodeSigning}, nil},
		{"intermediate for any usage", nil, []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, nil},
		{"intermediate without the extension", nil, nil, nil},
		{"root and intermediate for code signing", codeSigning, codeSigning, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rootKey, interKey, leafKey := newKey(t), newKey(t), newKey(t)
			rootTmpl := caTemplate("eku root", tt.rootEKU, 1)
			root := craftCert(t, rootTmpl, rootTmpl, pubOf(rootKey), rootKey)
			inter := craftCert(t, caTemplate("eku intermediate", tt.interEKU, 0), root, pubOf(interKey), rootKey)
			leaf := craftCert(t, leafTemplate(testNow, time.Hour, codeSigning), inter, pubOf(leafKey), interKey)
			ts := NewTrustStore(root, inter)

			res, err := ts.Verify(t.Context(), signed(leafKey, archive, leaf), bytes.NewReader(archive), testNow)
			checkTrust(t, "Verify", res != nil, err, tt.wantErr)

			path, err := ts.VerifySigningCertificate(leaf, testNow)
			checkTrust(t, "VerifySigningCertificate", path != nil, err, tt.wantErr)
			if tt.wantErr == nil && (len(path) != 3 || !path[1].Equal(inter) || !path[2].Equal(root)) {
				t.Errorf("VerifySigningCertificate path = %d certificates, want leaf, intermediate, root", len(path))
			}
		})
	}
}

// checkTrust asserts a trust decision: ok is whether a result came back.
func checkTrust(t *testing.T, op string, ok bool, err, wantErr error) {
	t.Helper()
	switch {
	case wantErr == nil && (err != nil || !ok):
		t.Errorf("%s: %v; want trusted", op, err)
	case wantErr != nil && (ok || !errors.Is(err, wantErr)):
		t.Errorf("%s: result %v, error %v; want %v", op, ok, err, wantErr)
	}
}

package chain

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestVerifyRejectsMalformedCertificatePEM: the certificate in a signature
// file is the uploader's text; anything but exactly one clean PEM
// CERTIFICATE block is malformed, whatever pem.Decode would tolerate.
func TestVerifyRejectsMalformedCertificatePEM(t *testing.T) {
	c := newTestChain(t, testNow)
	store := NewTrustStore(c.root, c.inter)
	archive := []byte("archive")
	good := CertificatePEM(c.leaf)
	withHeaders := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: c.leaf.Raw})
	tests := []struct {
		name string
		cert []byte
	}{
		{"BEGIN line without a block", []byte("-----BEGIN CERTIFICATE-----\nnot base64 at all\n")},
		{"PEM headers", withHeaders},
		{"another block type", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: c.leaf.RawSubjectPublicKeyInfo})},
		{"two certificates", append(bytes.Clone(good), good...)},
		{"text after the block", append(bytes.Clone(good), "trailer"...)},
		{"DER instead of PEM", c.leaf.Raw},
		{"PEM of bytes that are no certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sf := signed(c.leafKey, archive, nil)
			sf.Certificate = tt.cert
			res, err := store.Verify(t.Context(), sf, bytes.NewReader(archive), testNow)
			if !errors.Is(err, ErrMalformed) || res != nil {
				t.Fatalf("Verify = %v, %v; want ErrMalformed", res, err)
			}
		})
	}
	// The control: the same signature with the clean PEM verifies.
	if _, err := store.Verify(t.Context(), signed(c.leafKey, archive, c.leaf), bytes.NewReader(archive), testNow); err != nil {
		t.Fatalf("Verify with the clean certificate: %v", err)
	}
}

// TestLoadTrustStoreNamesTheBadCertificate: an operator fixing a trust
// store needs to know which certificate of a file is broken.
func TestLoadTrustStoreNamesTheBadCertificate(t *testing.T) {
	c := newTestChain(t, testNow)
	dir := t.TempDir()
	bad := append(CertificatePEM(c.root), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})...)
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), bad, 0o444); err != nil {
		t.Fatal(err)
	}
	ts, err := LoadTrustStore(dir)
	if !errors.Is(err, ErrMalformed) || ts != nil {
		t.Fatalf("LoadTrustStore = %v, %v; want ErrMalformed", ts, err)
	}
	if !strings.Contains(err.Error(), "certificate 2") {
		t.Errorf("error %q does not name certificate 2 of the file", err)
	}
}

// TestVerifyExpiredLeafUnderExpiredIntermediate: when both the signing
// certificate and its CA are out of date the error names both, so the
// operator renews both rather than discovering the second one later.
func TestVerifyExpiredLeafUnderExpiredIntermediate(t *testing.T) {
	c := newTestChain(t, testNow)
	shortKey, leafKey := newKey(t), newKey(t)
	shortInter, err := NewIntermediateCA(rand.Reader, c.root, c.rootKey, pubOf(shortKey), "short-lived CA", testNow, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf := craftCert(t, leafTemplate(testNow, 30*24*time.Hour, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}), shortInter, pubOf(leafKey), shortKey)
	store := NewTrustStore(c.root, shortInter)
	archive := []byte("archive")
	tests := []struct {
		name      string
		now       time.Time
		wantNames []string
	}{
		{"intermediate expired, leaf valid", testNow.Add(48 * time.Hour), []string{"short-lived CA"}},
		{"both expired", leaf.NotAfter.Add(time.Hour), []string{"short-lived CA", "crafted signing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := store.Verify(t.Context(), signed(leafKey, archive, leaf), bytes.NewReader(archive), tt.now)
			if !errors.Is(err, ErrExpired) || errors.Is(err, ErrUntrusted) {
				t.Fatalf("Verify = %v, want ErrExpired only", err)
			}
			for _, n := range tt.wantNames {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("error %q does not name %q", err, n)
				}
			}
			if len(tt.wantNames) == 1 && strings.Contains(err.Error(), "crafted signing") {
				t.Errorf("error %q blames the valid signing certificate", err)
			}
		})
	}
}

// TestVerifyUntrustedSaysIfAlsoExpired: a certificate from an unknown CA is
// untrusted whatever its dates; when it is also out of date the error says
// so too, and only then.
func TestVerifyUntrustedSaysIfAlsoExpired(t *testing.T) {
	c, foreign := newTestChain(t, testNow), newTestChain(t, testNow)
	store := NewTrustStore(c.root, c.inter)
	archive := []byte("archive")
	sf := signed(foreign.leafKey, archive, foreign.leaf)
	tests := []struct {
		name        string
		now         time.Time
		wantExpired bool
	}{
		{"in its validity", testNow, false},
		{"after its NotAfter", foreign.leaf.NotAfter.Add(time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := store.Verify(t.Context(), sf, bytes.NewReader(archive), tt.now)
			if !errors.Is(err, ErrUntrusted) || errors.Is(err, ErrExpired) {
				t.Fatalf("Verify = %v, want ErrUntrusted only", err)
			}
			if got := strings.Contains(err.Error(), "expired at"); got != tt.wantExpired || strings.Contains(err.Error(), "<nil>") {
				t.Errorf("error %q: mentions expiry %v, want %v", err, got, tt.wantExpired)
			}
		})
	}
}

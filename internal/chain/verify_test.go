package chain

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// signed returns a signature file for archive by key, carrying cert if not nil.
func signed(key ed25519.PrivateKey, archive []byte, cert *x509.Certificate) SignatureFile {
	sf := SignatureFile{Signature: ed25519.Sign(key, archive)}
	if cert != nil {
		sf.Certificate = CertificatePEM(cert)
	}
	return sf
}

// leafTemplate is a signing-certificate template for profiles NewSigningCertificate refuses.
func leafTemplate(now time.Time, validity time.Duration, eku []x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: "crafted signing", Organization: []string{"signer"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           eku,
		BasicConstraintsValid: true,
	}
}

func TestVerify(t *testing.T) {
	c := newTestChain(t, testNow)
	foreign := newTestChain(t, testNow)
	archive := make([]byte, 300<<10)
	if _, err := rand.Read(archive); err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(archive)
	tampered[len(tampered)/2] ^= 0x80

	// The trust store as a customer installs it: our bundle plus their own
	// custom-app certificates.
	customKey, expiredCustomKey, serverKey := newKey(t), newKey(t), newKey(t)
	custom := selfSignedLeaf(t, customKey, testNow, 365*24*time.Hour, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning})
	expiredCustom := selfSignedLeaf(t, expiredCustomKey, testNow.Add(-48*time.Hour), 24*time.Hour, nil)
	serverCustom := selfSignedLeaf(t, serverKey, testNow, 365*24*time.Hour, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth})
	dir := filepath.Join(t.TempDir(), "truststore")
	if err := WriteTrustStore(dir, BundleFor([]*x509.Certificate{c.root}, []*x509.Certificate{c.inter})); err != nil {
		t.Fatal(err)
	}
	writePEMFile(t, dir, "custom.pem", custom, expiredCustom, serverCustom)
	store, err := LoadTrustStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	bundleOnly := NewTrustStore(c.root, c.inter)

	// Certificates the issuing functions would not produce.
	otherKey := newKey(t)
	serverAuth := craftCert(t, leafTemplate(testNow, time.Hour, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}), c.inter, pubOf(otherKey), c.interKey)
	anyEKU := craftCert(t, leafTemplate(testNow, time.Hour, []x509.ExtKeyUsage{x509.ExtKeyUsageAny}), c.inter, pubOf(otherKey), c.interKey)
	noEKU := craftCert(t, leafTemplate(testNow, time.Hour, nil), c.inter, pubOf(otherKey), c.interKey)
	certSignOnly := leafTemplate(testNow, time.Hour, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning})
	certSignOnly.KeyUsage = x509.KeyUsageCertSign
	noDigitalSignature := craftCert(t, certSignOnly, c.inter, pubOf(otherKey), c.interKey)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecLeaf := craftCert(t, leafTemplate(testNow, time.Hour, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}), c.inter, &ecKey.PublicKey, c.interKey)
	// An intermediate that expires before its leaf (only possible when
	// hand-crafted: the issuing functions cap NotAfter).
	shortInterKey := newKey(t)
	shortInter, err := NewIntermediateCA(rand.Reader, c.root, c.rootKey, pubOf(shortInterKey), "short-lived CA", testNow, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	outlivingLeaf := craftCert(t, leafTemplate(testNow, 30*24*time.Hour, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}), shortInter, pubOf(otherKey), shortInterKey)
	nonCanonical := signed(c.leafKey, archive, c.leaf)
	nonCanonical.Signature[63] |= 0xe0

	tests := []struct {
		name    string
		store   *TrustStore
		sf      SignatureFile
		archive []byte
		now     time.Time
		wantErr error // nil: valid
		leaf    *x509.Certificate
	}{
		{"valid", store, signed(c.leafKey, archive, c.leaf), archive, testNow, nil, c.leaf},
		{"valid just before NotAfter", store, signed(c.leafKey, archive, c.leaf), archive, c.leaf.NotAfter, nil, c.leaf},
		{"valid with EKU any", store, signed(otherKey, archive, anyEKU), archive, testNow, nil, anyEKU},
		{"valid without EKU extension", store, signed(otherKey, archive, noEKU), archive, testNow, nil, noEKU},
		{"empty archive", store, signed(c.leafKey, nil, c.leaf), nil, testNow, nil, c.leaf},
		{"tampered archive", store, signed(c.leafKey, archive, c.leaf), tampered, testNow, ErrBadSignature, nil},
		{"truncated archive", store, signed(c.leafKey, archive, c.leaf), archive[:len(archive)-1], testNow, ErrBadSignature, nil},
		{"signed by another key", store, signed(otherKey, archive, c.leaf), archive, testNow, ErrBadSignature, nil},
		{"non-canonical signature", store, nonCanonical, archive, testNow, ErrBadSignature, nil},
		{"certificate from unknown root", store, signed(foreign.leafKey, archive, foreign.leaf), archive, testNow, ErrUntrusted, nil},
		{"expired certificate from unknown root", store, signed(foreign.leafKey, archive, foreign.leaf), archive, foreign.leaf.NotAfter.Add(time.Hour), ErrUntrusted, nil},
		{"trust store without roots", NewTrustStore(c.inter), signed(c.leafKey, archive, c.leaf), archive, testNow, ErrUntrusted, nil},
		{"expired leaf", store, signed(c.leafKey, archive, c.leaf), archive, c.leaf.NotAfter.Add(time.Second), ErrExpired, nil},
		{"leaf not yet valid", store, signed(c.leafKey, archive, c.leaf), archive, c.leaf.NotBefore.Add(-time.Second), ErrExpired, nil},
		{"expired intermediate", NewTrustStore(c.root, shortInter), signed(otherKey, archive, outlivingLeaf), archive, testNow.Add(48 * time.Hour), ErrExpired, nil},
		{"server-auth EKU", store, signed(otherKey, archive, serverAuth), archive, testNow, ErrUntrusted, nil},
		{"key usage without digital signature", store, signed(otherKey, archive, noDigitalSignature), archive, testNow, ErrUntrusted, nil},
		{"CA certificate as signer", store, signed(c.interKey, archive, c.inter), archive, testNow, ErrUntrusted, nil},
		{"ECDSA signing certificate", store, SignatureFile{Signature: make([]byte, 64), Certificate: CertificatePEM(ecLeaf)}, archive, testNow, ErrUntrusted, nil},
		{"63-byte signature", store, SignatureFile{Signature: make([]byte, 63), Certificate: CertificatePEM(c.leaf)}, archive, testNow, ErrMalformed, nil},
		{"certificate not PEM", store, SignatureFile{Signature: ed25519.Sign(c.leafKey, archive), Certificate: c.leaf.Raw}, archive, testNow, ErrMalformed, nil},

		{"no certificate: custom app", store, signed(customKey, archive, nil), archive, testNow, nil, custom},
		{"no certificate: tampered custom app", store, signed(customKey, archive, nil), tampered, testNow, ErrBadSignature, nil},
		{"no certificate: unknown key", store, signed(otherKey, archive, nil), archive, testNow, ErrBadSignature, nil},
		{"no certificate: marketplace key is not trusted directly", store, signed(c.leafKey, archive, nil), archive, testNow, ErrBadSignature, nil},
		{"no certificate: expired custom certificate", store, signed(expiredCustomKey, archive, nil), archive, testNow, ErrExpired, nil},
		{"no certificate: custom certificate for server auth", store, signed(serverKey, archive, nil), archive, testNow, ErrUntrusted, nil},
		{"no certificate: no trusted leaf", bundleOnly, signed(customKey, archive, nil), archive, testNow, ErrUntrusted, nil},
	}
	sentinels := []error{ErrMalformed, ErrBadSignature, ErrUntrusted, ErrExpired}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.store.Verify(t.Context(), tt.sf, bytes.NewReader(tt.archive), tt.now)
			if tt.wantErr != nil {
				if res != nil || err == nil {
					t.Fatalf("Verify = %+v, %v; want %v", res, err, tt.wantErr)
				}
				t.Logf("error: %v", err)
				for _, s := range sentinels {
					if got, want := errors.Is(err, s), s == tt.wantErr; got != want {
						t.Errorf("errors.Is(%q, %v) = %v, want %v", err, s, got, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			checkResult(t, res, tt.leaf, tt.archive, tt.sf.Certificate == nil)
			if tt.sf.Certificate != nil {
				want := []string{c.inter.Subject.String(), c.root.Subject.String()}
				if !slices.Equal(res.Issuers, want) {
					t.Errorf("Issuers = %q, want %q", res.Issuers, want)
				}
			}
		})
	}
}

func checkResult(t *testing.T, res *Result, leaf *x509.Certificate, archive []byte, fromStore bool) {
	t.Helper()
	sum := sha256.Sum256(archive)
	fp, err := KeyFingerprint(leaf.PublicKey.(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	checks := []struct {
		field     string
		got, want any
	}{
		{"Subject", res.Subject, leaf.Subject.String()},
		{"Serial", res.Serial, hex.EncodeToString(leaf.SerialNumber.Bytes())},
		{"NotAfter", res.NotAfter, leaf.NotAfter},
		{"SHA256", res.SHA256, hex.EncodeToString(sum[:])},
		{"KeyFingerprint", res.KeyFingerprint, fp},
		{"KeyFingerprint is SPKI SHA-256", res.KeyFingerprint, hex.EncodeToString(spki[:])},
		{"FromTrustStore", res.FromTrustStore, fromStore},
		{"Certificate", res.Certificate.Equal(leaf), true},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.field, ch.got, ch.want)
		}
	}
	if fromStore && len(res.Issuers) != 0 {
		t.Errorf("Issuers = %q for a directly trusted certificate", res.Issuers)
	}
}

// failingReader returns its data and then an I/O error.
type failingReader struct{ r io.Reader }

var errDisk = errors.New("disk on fire")

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errDisk
	}
	return n, err
}

func TestVerifyReadFailures(t *testing.T) {
	c := newTestChain(t, testNow)
	store := NewTrustStore(c.root, c.inter)
	archive := bytes.Repeat([]byte{1}, 1<<20)
	sf := signed(c.leafKey, archive, c.leaf)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		archive io.Reader
		want    error
	}{
		{"I/O error is not a bad signature", t.Context(), &failingReader{bytes.NewReader(archive)}, errDisk},
		{"cancelled context", cancelled, bytes.NewReader(archive), context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := store.Verify(tt.ctx, sf, tt.archive, testNow)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if errors.Is(err, ErrBadSignature) {
				t.Errorf("%v reported as a bad signature", err)
			}
		})
	}
}

// TestVerifyStreamsDevPKISignature checks the pieces together: a dev PKI,
// its trust bundle and a signature file read back from JSON.
func TestVerifyStreamsDevPKISignature(t *testing.T) {
	pki := ensureDev(t, t.TempDir(), testNow)
	archive := bytes.Repeat([]byte("jar bytes "), 50000)
	b, err := signed(pki.SigningKey, archive, pki.Signing).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sf, err := ParseSignatureFile(b)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "truststore")
	if err := WriteTrustStore(dir, BundleFor([]*x509.Certificate{pki.Root}, []*x509.Certificate{pki.Intermediate})); err != nil {
		t.Fatal(err)
	}
	store, err := LoadTrustStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := store.Verify(t.Context(), sf, bytes.NewReader(archive), testNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, pki.Signing, archive, false)
}

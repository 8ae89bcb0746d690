package chain

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"slices"
	"testing"
	"time"
)

func TestIssueProfiles(t *testing.T) {
	c := newTestChain(t, testNow)
	tests := []struct {
		name        string
		cert        *x509.Certificate
		issuer      *x509.Certificate
		isCA        bool
		maxPathLen  int
		maxPathZero bool
		keyUsage    x509.KeyUsage
		extKeyUsage []x509.ExtKeyUsage
		validity    time.Duration
	}{
		{"root", c.root, c.root, true, 1, false, x509.KeyUsageCertSign | x509.KeyUsageCRLSign, nil, 10 * 365 * 24 * time.Hour},
		{"intermediate", c.inter, c.root, true, 0, true, x509.KeyUsageCertSign | x509.KeyUsageCRLSign, nil, 5 * 365 * 24 * time.Hour},
		{"leaf", c.leaf, c.inter, false, -1, false, x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, 365 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert := tt.cert
			if cert.SignatureAlgorithm != x509.PureEd25519 || cert.PublicKeyAlgorithm != x509.Ed25519 {
				t.Errorf("algorithms = %v/%v, want Ed25519", cert.SignatureAlgorithm, cert.PublicKeyAlgorithm)
			}
			if !cert.BasicConstraintsValid || cert.IsCA != tt.isCA {
				t.Errorf("basic constraints valid=%v CA=%v, want CA=%v", cert.BasicConstraintsValid, cert.IsCA, tt.isCA)
			}
			if tt.isCA && (cert.MaxPathLen != tt.maxPathLen || cert.MaxPathLenZero != tt.maxPathZero) {
				t.Errorf("MaxPathLen=%d zero=%v, want %d zero=%v", cert.MaxPathLen, cert.MaxPathLenZero, tt.maxPathLen, tt.maxPathZero)
			}
			if cert.KeyUsage != tt.keyUsage {
				t.Errorf("KeyUsage = %v, want %v", cert.KeyUsage, tt.keyUsage)
			}
			if !slices.Equal(cert.ExtKeyUsage, tt.extKeyUsage) {
				t.Errorf("ExtKeyUsage = %v, want %v", cert.ExtKeyUsage, tt.extKeyUsage)
			}
			if got := cert.Subject.Organization; !slices.Equal(got, []string{"signer"}) {
				t.Errorf("Organization = %v, want [signer]", got)
			}
			if !cert.NotBefore.Equal(testNow.Add(-5 * time.Minute)) {
				t.Errorf("NotBefore = %v, want now-5m", cert.NotBefore)
			}
			if !cert.NotAfter.Equal(testNow.Add(tt.validity)) {
				t.Errorf("NotAfter = %v, want now+%v", cert.NotAfter, tt.validity)
			}
			if cert.SerialNumber.Sign() <= 0 || cert.SerialNumber.BitLen() > 128 {
				t.Errorf("serial %x is not a positive 128-bit number", cert.SerialNumber)
			}
			if len(cert.SubjectKeyId) != 20 || !bytes.Equal(cert.AuthorityKeyId, tt.issuer.SubjectKeyId) {
				t.Errorf("SKI %x / AKI %x, want 20-byte SKI and AKI = issuer SKI %x", cert.SubjectKeyId, cert.AuthorityKeyId, tt.issuer.SubjectKeyId)
			}
			if err := cert.CheckSignatureFrom(tt.issuer); err != nil {
				t.Errorf("signature does not verify under issuer: %v", err)
			}
		})
	}
	if c.root.SerialNumber.Cmp(c.inter.SerialNumber) == 0 || c.inter.SerialNumber.Cmp(c.leaf.SerialNumber) == 0 {
		t.Error("serial numbers repeat")
	}

	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(c.root)
	inters.AddCert(c.inter)
	if _, err := c.leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}); err != nil {
		t.Errorf("Go x509 rejects the chain: %v", err)
	}
}

// opaqueSigner hides the concrete key type, as a KMS or HSM signer does.
type opaqueSigner struct{ key ed25519.PrivateKey }

func (s opaqueSigner) Public() crypto.PublicKey { return s.key.Public() }
func (s opaqueSigner) Sign(r io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.key.Sign(r, msg, opts)
}

// wrongKeySigner claims one public key and signs with another.
type wrongKeySigner struct {
	claimed ed25519.PublicKey
	actual  ed25519.PrivateKey
}

func (s wrongKeySigner) Public() crypto.PublicKey { return s.claimed }
func (s wrongKeySigner) Sign(r io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.actual.Sign(r, msg, opts)
}

func TestIssueWithOpaqueSigner(t *testing.T) {
	rootKey, interKey := newKey(t), newKey(t)
	root, err := NewRootCA(rand.Reader, opaqueSigner{rootKey}, "kms root", testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	inter, err := NewIntermediateCA(rand.Reader, root, opaqueSigner{rootKey}, pubOf(interKey), "kms inter", testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := inter.CheckSignatureFrom(root); err != nil {
		t.Fatal(err)
	}
}

func TestIssueRejects(t *testing.T) {
	c := newTestChain(t, testNow)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other := newKey(t)
	tests := []struct {
		name    string
		issue   func() (*x509.Certificate, error)
		wantKey bool // errors.Is(err, ErrInvalidKey)
	}{
		{"root with ECDSA signer", func() (*x509.Certificate, error) {
			return NewRootCA(rand.Reader, ecKey, "ec root", testNow, time.Hour)
		}, true},
		{"root with signer that signs with another key", func() (*x509.Certificate, error) {
			return NewRootCA(rand.Reader, wrongKeySigner{pubOf(c.rootKey), other}, "liar", testNow, time.Hour)
		}, false},
		{"intermediate with key not matching parent", func() (*x509.Certificate, error) {
			return NewIntermediateCA(rand.Reader, c.root, other, pubOf(other), "x", testNow, time.Hour)
		}, true},
		{"intermediate under path length 0 CA", func() (*x509.Certificate, error) {
			return NewIntermediateCA(rand.Reader, c.inter, c.interKey, pubOf(other), "x", testNow, time.Hour)
		}, false},
		{"leaf under a leaf", func() (*x509.Certificate, error) {
			return NewSigningCertificate(rand.Reader, c.leaf, c.leafKey, pubOf(other), "x", testNow, time.Hour)
		}, false},
		{"leaf with short public key", func() (*x509.Certificate, error) {
			return NewSigningCertificate(rand.Reader, c.inter, c.interKey, make(ed25519.PublicKey, 31), "x", testNow, time.Hour)
		}, true},
		{"zero validity", func() (*x509.Certificate, error) {
			return NewSigningCertificate(rand.Reader, c.inter, c.interKey, pubOf(other), "x", testNow, 0)
		}, false},
		{"empty common name", func() (*x509.Certificate, error) {
			return NewSigningCertificate(rand.Reader, c.inter, c.interKey, pubOf(other), "", testNow, time.Hour)
		}, false},
		{"randomness source of zeros", func() (*x509.Certificate, error) {
			return NewSigningCertificate(zeroReader{}, c.inter, c.interKey, pubOf(other), "x", testNow, time.Hour)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := tt.issue()
			if err == nil {
				t.Fatalf("issued %v, want error", cert.Subject)
			}
			if got := errors.Is(err, ErrInvalidKey); got != tt.wantKey {
				t.Errorf("errors.Is(%v, ErrInvalidKey) = %v, want %v", err, got, tt.wantKey)
			}
		})
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestIssueCapsNotAfterAtParent(t *testing.T) {
	c := newTestChain(t, testNow)
	leaf := c.newLeaf(t, pubOf(newKey(t)), testNow, 50*365*24*time.Hour)
	if !leaf.NotAfter.Equal(c.inter.NotAfter) {
		t.Errorf("leaf NotAfter %v, want capped at intermediate's %v", leaf.NotAfter, c.inter.NotAfter)
	}
}

func TestSerialsAreRandom(t *testing.T) {
	seen := make(map[string]bool)
	for range 64 {
		n, err := newSerial(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if n.Sign() <= 0 || n.Cmp(new(big.Int).Lsh(big.NewInt(1), 128)) >= 0 {
			t.Fatalf("serial %x out of range", n)
		}
		if seen[n.String()] {
			t.Fatalf("serial %x repeated", n)
		}
		seen[n.String()] = true
	}
}

package chain

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/appsign/signer/internal/atomicfile"
)

// Development PKI names and lifetimes.
const (
	DevRootCN         = "signer dev root CA"
	DevIntermediateCN = "signer dev marketplace CA"
	DevSigningCN      = "signer dev signing"

	DevRootValidity         = 10 * 365 * 24 * time.Hour
	DevIntermediateValidity = 5 * 365 * 24 * time.Hour
	DevSigningValidity      = 365 * 24 * time.Hour

	// RenewWindow is how long before NotAfter a certificate counts as
	// expiring: the ecosystem warns operators 30 days ahead, and the dev
	// PKI re-issues its certificates then.
	RenewWindow = 30 * 24 * time.Hour
)

// DevPKI is a file-based development PKI: root CA, marketplace intermediate
// CA and a code-signing certificate, each with a software Ed25519 key.
type DevPKI struct {
	Root         *x509.Certificate
	Intermediate *x509.Certificate
	Signing      *x509.Certificate
	// SigningKey is the private key of Signing. Never log it.
	SigningKey ed25519.PrivateKey

	SigningKeyPath       string
	RootCertPath         string
	IntermediateCertPath string
	SigningCertPath      string
}

// SigningChainPEM returns the signing certificate followed by the
// intermediate CA certificate, PEM encoded (the root is in the trust store).
func (p *DevPKI) SigningChainPEM() []byte {
	return CertificatesPEM(p.Signing, p.Intermediate)
}

// devEntry names one key and certificate pair of the development PKI.
type devEntry struct {
	keyPath, certPath string
	cn                string
	validity          time.Duration
}

// EnsureDevPKI creates the development PKI under dir on first use and loads
// it on later calls:
//
//	dir/keys/root-ca.key, marketplace-ca.key, signing.key  (PKCS#8 PEM, 0600, dir 0700)
//	dir/pki/root-ca.crt (10y), marketplace-ca.crt (5y), signing.crt (1y)
//
// Key files readable or writable by group or others are refused
// (ErrInsecureKeyFile). A certificate with less than RenewWindow left is
// re-issued with the same key; a signing certificate that does not match
// the signing key is re-issued too. A CA certificate that does not match
// its key, or a chain that does not verify at now, fails with ErrInvalidPKI.
// Files are written atomically. rand supplies keys and serial numbers.
func EnsureDevPKI(rand io.Reader, dir string, now time.Time) (*DevPKI, error) {
	keysDir := filepath.Join(dir, "keys")
	pkiDir := filepath.Join(dir, "pki")
	if err := os.MkdirAll(keysDir, 0o700); err != nil {
		return nil, fmt.Errorf("chain: dev pki: %w", err)
	}
	if err := os.MkdirAll(pkiDir, 0o755); err != nil {
		return nil, fmt.Errorf("chain: dev pki: %w", err)
	}
	rootE := devEntry{filepath.Join(keysDir, "root-ca.key"), filepath.Join(pkiDir, "root-ca.crt"), DevRootCN, DevRootValidity}
	interE := devEntry{filepath.Join(keysDir, "marketplace-ca.key"), filepath.Join(pkiDir, "marketplace-ca.crt"), DevIntermediateCN, DevIntermediateValidity}
	signE := devEntry{filepath.Join(keysDir, "signing.key"), filepath.Join(pkiDir, "signing.crt"), DevSigningCN, DevSigningValidity}

	rootKey, err := ensureDevKey(rand, rootE, true)
	if err != nil {
		return nil, err
	}
	interKey, err := ensureDevKey(rand, interE, true)
	if err != nil {
		return nil, err
	}
	signKey, err := ensureDevKey(rand, signE, false)
	if err != nil {
		return nil, err
	}

	root, err := ensureDevCert(rootE, rootKey, now, true, func() (*x509.Certificate, error) {
		return NewRootCA(rand, rootKey, rootE.cn, now, rootE.validity)
	})
	if err != nil {
		return nil, err
	}
	inter, err := ensureDevCert(interE, interKey, now, true, func() (*x509.Certificate, error) {
		return NewIntermediateCA(rand, root, rootKey, interKey.Public().(ed25519.PublicKey), interE.cn, now, interE.validity)
	})
	if err != nil {
		return nil, err
	}
	signing, err := ensureDevCert(signE, signKey, now, false, func() (*x509.Certificate, error) {
		return NewSigningCertificate(rand, inter, interKey, signKey.Public().(ed25519.PublicKey), signE.cn, now, signE.validity)
	})
	if err != nil {
		return nil, err
	}

	if err := checkDevChain(root, inter, signing, signKey, now); err != nil {
		return nil, err
	}
	return &DevPKI{
		Root:                 root,
		Intermediate:         inter,
		Signing:              signing,
		SigningKey:           signKey,
		SigningKeyPath:       signE.keyPath,
		RootCertPath:         rootE.certPath,
		IntermediateCertPath: interE.certPath,
		SigningCertPath:      signE.certPath,
	}, nil
}

// ensureDevKey loads e's key, or generates and stores it when missing. A
// missing CA key next to an existing CA certificate is an error rather than
// a silent new CA.
func ensureDevKey(rand io.Reader, e devEntry, isCA bool) (ed25519.PrivateKey, error) {
	key, err := loadDevKey(e.keyPath)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if isCA {
		if _, err := os.Stat(e.certPath); err == nil {
			return nil, fmt.Errorf("chain: dev pki: %w: %s exists but its key %s is missing", ErrInvalidPKI, e.certPath, e.keyPath)
		}
	}
	_, key, err = ed25519.GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("chain: dev pki: generate key %s: %w", e.keyPath, err)
	}
	pemKey, err := marshalKeyPEM(key)
	if err != nil {
		return nil, fmt.Errorf("chain: dev pki: %s: %w", e.keyPath, err)
	}
	if err := atomicfile.Create(e.keyPath, pemKey, 0o600); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created it first: use theirs.
			return loadDevKey(e.keyPath)
		}
		return nil, fmt.Errorf("chain: dev pki: write key: %w", err)
	}
	return key, nil
}

func loadDevKey(path string) (ed25519.PrivateKey, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("chain: dev pki: load key: %w", err)
	}
	key, err := parseKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("chain: dev pki: load key %s: %w", path, err)
	}
	return key, nil
}

// ensureDevCert loads e's certificate, or issues and stores a new one when
// it is missing or within RenewWindow of NotAfter. A certificate for another
// key is re-issued for a leaf and an error for a CA.
func ensureDevCert(e devEntry, key ed25519.PrivateKey, now time.Time, isCA bool, issue func() (*x509.Certificate, error)) (*x509.Certificate, error) {
	b, err := os.ReadFile(e.certPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return issueDevCert(e, issue)
	case err != nil:
		return nil, fmt.Errorf("chain: dev pki: %w", err)
	}
	cert, err := ParseCertificatePEM(b)
	if err != nil {
		return nil, fmt.Errorf("chain: dev pki: %s: %w", e.certPath, err)
	}
	if !publicKeyMatches(cert, key) {
		if isCA {
			return nil, fmt.Errorf("chain: dev pki: %w: %s does not match key %s", ErrInvalidPKI, e.certPath, e.keyPath)
		}
		return issueDevCert(e, issue)
	}
	if cert.NotAfter.Sub(now) < RenewWindow {
		return issueDevCert(e, issue)
	}
	return cert, nil
}

func issueDevCert(e devEntry, issue func() (*x509.Certificate, error)) (*x509.Certificate, error) {
	cert, err := issue()
	if err != nil {
		return nil, fmt.Errorf("chain: dev pki: %s: %w", e.certPath, err)
	}
	if err := atomicfile.Write(e.certPath, CertificatePEM(cert), 0o644); err != nil {
		return nil, fmt.Errorf("chain: dev pki: write certificate: %w", err)
	}
	return cert, nil
}

// checkDevChain fails loudly when the files on disk do not form a working
// signing chain, so a broken dev setup is found at start-up, not at verify.
func checkDevChain(root, inter, signing *x509.Certificate, signKey ed25519.PrivateKey, now time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(root)
	inters := x509.NewCertPool()
	inters.AddCert(inter)
	_, err := signing.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inters,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	})
	if err != nil {
		return fmt.Errorf("chain: dev pki: %w: signing chain does not verify: %v", ErrInvalidPKI, err)
	}
	if !publicKeyMatches(signing, signKey) {
		return fmt.Errorf("chain: dev pki: %w: signing certificate does not match signing key", ErrInvalidPKI)
	}
	return nil
}

func publicKeyMatches(cert *x509.Certificate, key ed25519.PrivateKey) bool {
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	return ok && bytes.Equal(pub, key.Public().(ed25519.PublicKey))
}

package chain

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// maxTrustFileSize bounds one trust-store file; a CA bundle of dozens of
// certificates fits comfortably.
const maxTrustFileSize = 1 << 20

// TrustStore is the verifier's local set of trusted certificates: root CAs
// anchor PKIX path validation, intermediate CAs may complete a path, and
// leaf certificates are trusted directly for signature files that carry no
// certificate (custom apps). The zero value trusts nothing. A TrustStore is
// safe for concurrent use once built.
type TrustStore struct {
	roots         []*x509.Certificate
	intermediates []*x509.Certificate
	leaves        []*x509.Certificate
}

// NewTrustStore classifies certs like LoadTrustStore: self-signed CA
// certificates are roots, other CA certificates intermediates, and
// non-CA certificates trusted leaves. Duplicates are kept once.
func NewTrustStore(certs ...*x509.Certificate) *TrustStore {
	ts := &TrustStore{}
	seen := make(map[string]bool)
	for _, c := range certs {
		if c == nil || seen[string(c.Raw)] {
			continue
		}
		seen[string(c.Raw)] = true
		switch {
		case c.IsCA && isSelfSigned(c):
			ts.roots = append(ts.roots, c)
		case c.IsCA:
			ts.intermediates = append(ts.intermediates, c)
		default:
			ts.leaves = append(ts.leaves, c)
		}
	}
	return ts
}

// LoadTrustStore reads every *.pem and *.crt file directly in dir (each
// holding one or more PEM certificates) and classifies the certificates as
// NewTrustStore does. Subdirectories and other files are ignored. An
// unreadable or unparsable file is an error naming the file: a trust store
// is installed by hand, and a silently skipped CA would be hard to diagnose.
func LoadTrustStore(dir string) (*TrustStore, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("chain: load trust store: %w", err)
	}
	var names []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".pem" && ext != ".crt") {
			continue
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var certs []*x509.Certificate
	for _, name := range names {
		path := filepath.Join(dir, name)
		b, err := readTrustFile(path)
		if err != nil {
			return nil, fmt.Errorf("chain: load trust store: %s: %w", path, err)
		}
		cs, err := parseCertificatesPEM(b)
		if err != nil {
			return nil, fmt.Errorf("chain: load trust store: %s: %w", path, err)
		}
		certs = append(certs, cs...)
	}
	return NewTrustStore(certs...), nil
}

func readTrustFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: not a regular file", ErrMalformed)
	}
	if info.Size() > maxTrustFileSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, info.Size(), maxTrustFileSize)
	}
	return os.ReadFile(path)
}

// Roots returns the root CA certificates.
func (ts *TrustStore) Roots() []*x509.Certificate { return clone(ts.roots) }

// Intermediates returns the intermediate CA certificates.
func (ts *TrustStore) Intermediates() []*x509.Certificate { return clone(ts.intermediates) }

// Leaves returns the directly trusted (non-CA) certificates.
func (ts *TrustStore) Leaves() []*x509.Certificate { return clone(ts.leaves) }

// Certificates returns every certificate in the store: roots,
// intermediates, then leaves. Pass it to ExpiresSoon to warn operators.
func (ts *TrustStore) Certificates() []*x509.Certificate {
	out := clone(ts.roots)
	out = append(out, ts.intermediates...)
	return append(out, ts.leaves...)
}

func clone(certs []*x509.Certificate) []*x509.Certificate {
	return append([]*x509.Certificate(nil), certs...)
}

// isSelfSigned reports whether c names itself as issuer and its signature
// verifies with its own key.
func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

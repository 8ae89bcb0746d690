package chain

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/appsign/signer/internal/atomicfile"
)

// Trust-store roles.
const (
	RoleRoot         = "root"
	RoleIntermediate = "intermediate"
)

// TrustCert is one CA certificate of a trust-store bundle.
type TrustCert struct {
	// FileName is <role>-<first 16 hex digits of SHA-256(DER)>.pem, unique
	// across rotations so old and new CAs can be installed side by side.
	FileName string
	// PEM is the certificate as one PEM block.
	PEM string
	// Role is RoleRoot or RoleIntermediate.
	Role string
	Cert *x509.Certificate
}

// BundleFor returns the trust-store entries for roots and intermediates,
// roots first, each in the given order, without duplicates.
func BundleFor(roots, intermediates []*x509.Certificate) []TrustCert {
	seen := make(map[string]bool)
	var out []TrustCert
	add := func(role string, certs []*x509.Certificate) {
		for _, c := range certs {
			if c == nil {
				continue
			}
			name := trustFileName(role, c)
			if seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, TrustCert{FileName: name, PEM: string(CertificatePEM(c)), Role: role, Cert: c})
		}
	}
	add(RoleRoot, roots)
	add(RoleIntermediate, intermediates)
	return out
}

func trustFileName(role string, c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return role + "-" + hex.EncodeToString(sum[:])[:16] + ".pem"
}

// WriteTrustStore writes certs into dir as read-only (0444) files, creating
// dir if needed and setting its mode to 0755. Each file is written atomically; files
// already in dir are left alone, so a rotation adds the new CAs next to the
// old ones. File names must be plain names ending in ".pem".
func WriteTrustStore(dir string, certs []TrustCert) error {
	for _, tc := range certs {
		if tc.FileName == "" || tc.FileName != filepath.Base(tc.FileName) || strings.HasPrefix(tc.FileName, ".") || !strings.HasSuffix(tc.FileName, ".pem") {
			return fmt.Errorf("chain: write trust store: invalid file name %q", tc.FileName)
		}
		if _, err := singleCertificateBlock([]byte(tc.PEM)); err != nil {
			return fmt.Errorf("chain: write trust store: %s: %w", tc.FileName, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("chain: write trust store: %w", err)
	}
	// MkdirAll is subject to the umask; the ecosystem expects exactly 0755.
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("chain: write trust store: %w", err)
	}
	for _, tc := range certs {
		if err := atomicfile.Write(filepath.Join(dir, tc.FileName), []byte(tc.PEM), 0o444); err != nil {
			return fmt.Errorf("chain: write trust store: %w", err)
		}
	}
	return nil
}

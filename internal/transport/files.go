package transport

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

// loadPool reads the PEM certificates of path into a pool; it fails unless
// there is at least one and every CERTIFICATE block parses.
func loadPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	pool := x509.NewCertPool()
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", path, n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: %w", path, ErrNoCertificates)
	}
	return pool, nil
}

// checkKeyFile refuses a private key file that its group or others may
// access. It follows symbolic links: the mode of the file read is what counts.
func checkKeyFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("transport: key file: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o, want 0600 or stricter", ErrKeyPermissions, path, perm)
	}
	return nil
}

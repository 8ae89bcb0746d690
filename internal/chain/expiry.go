package chain

import (
	"crypto/x509"
	"fmt"
	"time"
)

// ExpiresSoon returns the certificates of certs whose NotAfter is before
// now+window, including those already expired, in their original order.
// Use RenewWindow (30 days) for the ecosystem's operator warning.
func ExpiresSoon(certs []*x509.Certificate, now time.Time, window time.Duration) []*x509.Certificate {
	deadline := now.Add(window)
	var out []*x509.Certificate
	for _, c := range certs {
		if c != nil && c.NotAfter.Before(deadline) {
			out = append(out, c)
		}
	}
	return out
}

// ChainsToRoots checks that c chains to one of roots, through any of
// intermediates, as of now — or, for a certificate not yet valid (a next
// CA shipped ahead of its rotation), as of its NotBefore. It is the start
// check of a service configuration: a CA, issuer or trust-metadata signer
// outside the published hierarchy would issue what no trust store accepts.
// A root itself passes.
func ChainsToRoots(c *x509.Certificate, roots, intermediates []*x509.Certificate, now time.Time) error {
	if now.Before(c.NotBefore) {
		now = c.NotBefore
	}
	if now.After(c.NotAfter) {
		return fmt.Errorf("chain: %q expired on %s", c.Subject.String(), c.NotAfter.UTC().Format(time.RFC3339))
	}
	opts := x509.VerifyOptions{Roots: x509.NewCertPool(), Intermediates: x509.NewCertPool(), CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	for _, r := range roots {
		opts.Roots.AddCert(r)
	}
	for _, i := range intermediates {
		opts.Intermediates.AddCert(i)
	}
	if _, err := c.Verify(opts); err != nil {
		return fmt.Errorf("chain: %q does not chain to a configured root: %w", c.Subject.String(), err)
	}
	return nil
}

package chain

import (
	"crypto/x509"
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

package bundle

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"time"
)

// checkRoot requires a self-signed CA certificate.
func checkRoot(c *x509.Certificate) error {
	if !c.IsCA {
		return fmt.Errorf("root %q is not a CA certificate", c.Subject)
	}
	if !bytes.Equal(c.RawSubject, c.RawIssuer) || c.CheckSignatureFrom(c) != nil {
		return fmt.Errorf("root %q is not self-signed", c.Subject)
	}
	return nil
}

// checkIntermediate requires a CA certificate, not self-signed, issued by
// one of cas.
func checkIntermediate(c *x509.Certificate, cas []*x509.Certificate) error {
	if !c.IsCA {
		return fmt.Errorf("intermediate %q is not a CA certificate", c.Subject)
	}
	if bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(c) == nil {
		return fmt.Errorf("intermediate %q is self-signed: ship it as a root", c.Subject)
	}
	if issuerOf(c.RawIssuer, cas, c.CheckSignatureFrom) == nil {
		return fmt.Errorf("intermediate %q is not issued by a CA of the bundle", c.Subject)
	}
	return nil
}

// checkCRL requires a CRL signed by one of cas.
func checkCRL(der []byte, cas []*x509.Certificate) (*x509.RevocationList, error) {
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if issuerOf(crl.RawIssuer, cas, crl.CheckSignatureFrom) == nil {
		return nil, fmt.Errorf("CRL of %q is not signed by a CA of the bundle", crl.Issuer)
	}
	return crl, nil
}

// crlStale says why crl is past its next update at now, or "".
func crlStale(crl *x509.RevocationList, now time.Time) string {
	if crl.NextUpdate.IsZero() || !now.After(crl.NextUpdate) {
		return ""
	}
	return fmt.Sprintf("CRL of %q was due for update at %s", crl.Issuer, crl.NextUpdate.Format(time.RFC3339))
}

// issuerOf returns the CA of cas named rawIssuer whose key check accepts.
func issuerOf(rawIssuer []byte, cas []*x509.Certificate, check func(*x509.Certificate) error) *x509.Certificate {
	for _, ca := range cas {
		if ca != nil && bytes.Equal(ca.RawSubject, rawIssuer) && check(ca) == nil {
			return ca
		}
	}
	return nil
}

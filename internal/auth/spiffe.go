package auth

import (
	"crypto/x509"
	"fmt"
	"strings"
)

const (
	spiffeScheme     = "spiffe://"
	maxSubjectLen    = 2048
	maxTrustDomainLn = 255
)

// ParseSubject checks that s is a SPIFFE ID naming a workload and returns
// its trust domain and path (with the leading "/").
//
// The grammar is that of the SPIFFE ID standard, with no leniency: scheme
// "spiffe://" in lower case; a trust domain of 1-255 characters from
// [a-z0-9.-_]; a non-empty path of "/"-separated segments from
// [a-zA-Z0-9.-_], none empty, "." or ".."; no trailing slash, port, user
// info, query, fragment or percent-encoding; 2048 bytes at most. Since
// nothing is normalized, two IDs name the same caller exactly when the
// strings are equal, which is what the policy's matching relies on.
func ParseSubject(s string) (trustDomain, path string, err error) {
	if len(s) > maxSubjectLen {
		return "", "", fmt.Errorf("%w: longer than %d bytes", ErrInvalidSubject, maxSubjectLen)
	}
	rest, ok := strings.CutPrefix(s, spiffeScheme)
	if !ok {
		return "", "", fmt.Errorf("%w: %q is not a spiffe:// URI", ErrInvalidSubject, s)
	}
	td, p, ok := strings.Cut(rest, "/")
	if !ok || p == "" {
		return "", "", fmt.Errorf("%w: %q has no workload path", ErrInvalidSubject, s)
	}
	if err := checkTrustDomain(td); err != nil {
		return "", "", fmt.Errorf("%w: %q: %s", ErrInvalidSubject, s, err)
	}
	for seg := range strings.SplitSeq(p, "/") {
		if err := checkSegment(seg); err != nil {
			return "", "", fmt.Errorf("%w: %q: %s", ErrInvalidSubject, s, err)
		}
	}
	return td, "/" + p, nil
}

func checkTrustDomain(td string) error {
	if td == "" || len(td) > maxTrustDomainLn {
		return fmt.Errorf("trust domain must have 1-%d characters", maxTrustDomainLn)
	}
	for i := 0; i < len(td); i++ {
		c := td[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("trust domain may use only a-z, 0-9, '.', '-' and '_'")
		}
	}
	return nil
}

func checkSegment(seg string) error {
	switch seg {
	case "":
		return fmt.Errorf("path has an empty segment")
	case ".", "..":
		return fmt.Errorf("path has a %q segment", seg)
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("path may use only letters, digits, '.', '-' and '_'")
		}
	}
	return nil
}

// SubjectFromCertificate returns the caller identity of a verified client
// certificate: its one URI SAN, which must be a SPIFFE ID (ParseSubject).
// A certificate with no URI SAN, or with several, has no identity; the
// subject DN and DNS names are never used.
func SubjectFromCertificate(cert *x509.Certificate) (string, error) {
	switch len(cert.URIs) {
	case 0:
		return "", fmt.Errorf("%w: certificate has no URI SAN", ErrInvalidSubject)
	case 1:
	default:
		return "", fmt.Errorf("%w: certificate has %d URI SANs, want exactly one", ErrInvalidSubject, len(cert.URIs))
	}
	s := cert.URIs[0].String()
	if _, _, err := ParseSubject(s); err != nil {
		return "", err
	}
	return s, nil
}

package revocation

import (
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Verify checks the envelope b against a pinned public key and returns the
// list. The list's own certificate, if any, is ignored.
//
// A list checked after its NextUpdate gives an error wrapping ErrStale
// TOGETHER WITH the verified list, so that a caller may still apply it (an
// air-gapped instance is better off with an old list than none) and warn;
// every other error returns a nil list. Other errors wrap ErrMalformed or
// ErrBadSignature.
func Verify(b []byte, pub ed25519.PublicKey, now time.Time) (*List, error) {
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("revocation: verify: %w", err)
	}
	return s.verify(pub, now)
}

// VerifyTrusted checks the envelope b with the certificate it carries,
// which must pass VerifySignerCertificate for RevocationSigningPolicy
// against roots (e.g. chain.TrustStore.Roots()) and intermediates at now.
// It returns the list and the signer's certificate. Errors are as for
// Verify, plus ErrUntrusted (no certificate, or not trusted for revocation
// lists) and ErrExpired.
func VerifyTrusted(b []byte, roots, intermediates []*x509.Certificate, now time.Time) (*List, *x509.Certificate, error) {
	s, err := Parse(b)
	if err != nil {
		return nil, nil, fmt.Errorf("revocation: verify: %w", err)
	}
	if s.Certificate == nil {
		return nil, nil, fmt.Errorf("revocation: verify: %w: the list carries no signer certificate", ErrUntrusted)
	}
	if _, err := VerifySignerCertificate(s.Certificate, RevocationSigningPolicy(), roots, intermediates, now); err != nil {
		return nil, nil, fmt.Errorf("revocation: verify: %w", err)
	}
	l, err := s.verify(s.Certificate.PublicKey.(ed25519.PublicKey), now)
	if l == nil {
		return nil, nil, err
	}
	return l, s.Certificate, err
}

func (s *Signed) verify(pub ed25519.PublicKey, now time.Time) (*List, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("revocation: verify: public key is not Ed25519")
	}
	if !ed25519.Verify(pub, s.Payload, s.Signature) {
		return nil, fmt.Errorf("revocation: verify: %w: list version %d from %q", ErrBadSignature, s.List.Version, s.List.Issuer)
	}
	if now.After(s.List.NextUpdate) {
		return s.List, fmt.Errorf("revocation: verify: %w: list version %d was due for update at %s", ErrStale, s.List.Version, s.List.NextUpdate.Format(time.RFC3339))
	}
	return s.List, nil
}

// CheckNotOlder refuses l (ErrRollback) if its version is lower than
// previousVersion, the highest version the caller has accepted before. The
// same version again is accepted.
func CheckNotOlder(previousVersion uint64, l *List) error {
	if l == nil {
		return errors.New("revocation: check not older: no list")
	}
	if l.Version < previousVersion {
		return fmt.Errorf("revocation: %w: list version %d is older than version %d already accepted", ErrRollback, l.Version, previousVersion)
	}
	return nil
}

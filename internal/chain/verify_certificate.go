package chain

import (
	"crypto/x509"
	"fmt"
	"time"
)

// VerifySigningCertificate checks cert exactly as Verify checks the
// certificate carried in a signature file, without any signature: cert must
// have an Ed25519 key, must not be a CA, must allow digital signatures and
// code signing (or any extended usage), and must chain by PKIX path
// validation to a root of ts through ts's intermediates at time now. It is
// for other signature profiles (e.g. digest statements) that sign something
// other than the archive but must trust keys the same way.
//
// It returns the validated chain, cert first and the root last. Errors wrap
// ErrMalformed (no certificate), ErrUntrusted or ErrExpired; ErrExpired is
// only reported for a certificate that would otherwise be trusted. A nil ts
// trusts nothing.
func (ts *TrustStore) VerifySigningCertificate(cert *x509.Certificate, now time.Time) ([]*x509.Certificate, error) {
	if cert == nil {
		return nil, fmt.Errorf("chain: verify signing certificate: %w: no certificate", ErrMalformed)
	}
	if ts == nil {
		ts = &TrustStore{}
	}
	if err := checkSigningProfile(cert); err != nil {
		return nil, fmt.Errorf("chain: verify signing certificate: %w", err)
	}
	path, err := ts.verifyPath(cert, now)
	if err != nil {
		return nil, fmt.Errorf("chain: verify signing certificate: %w", err)
	}
	return path, nil
}

package chain

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/appsign/signer/internal/ctxio"
	"github.com/appsign/signer/internal/eddsa"
)

// Result describes a signature file that verified.
type Result struct {
	// Subject is the signing certificate's subject DN.
	Subject string
	// Issuers are the subjects of the issuing CAs, from the signing
	// certificate's issuer up to the root. Empty for a certificate trusted
	// directly from the trust store.
	Issuers []string
	// Serial is the signing certificate's serial number, lowercase hex.
	Serial string
	// NotAfter is the end of the signing certificate's validity.
	NotAfter time.Time
	// SHA256 is the lowercase hex SHA-256 of the archive bytes verified.
	SHA256 string
	// KeyFingerprint identifies the signing key (see KeyFingerprint).
	KeyFingerprint string
	// FromTrustStore is true when the signature file carried no certificate
	// and the signing certificate came from the trust store (custom apps).
	FromTrustStore bool
	// Certificate is the signing certificate.
	Certificate *x509.Certificate
}

// KeyFingerprint returns the lowercase hex SHA-256 of the DER
// SubjectPublicKeyInfo of pub, the value printed by
// `openssl pkey -pubin -outform DER | sha256sum`.
func KeyFingerprint(pub ed25519.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("chain: key fingerprint: %w: %v", ErrInvalidKey, err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// Verify checks sf over every byte read from archive, as an installing
// instance does at time now.
//
// With a certificate in sf, the certificate must have an Ed25519 key, must
// not be a CA, must allow digital signatures and code signing (or any
// extended usage), must chain by PKIX validation to a root of ts through
// ts's intermediates, and the signature must be a pure Ed25519 signature of
// the archive under its key. Without a certificate (custom apps), the
// signature must verify under the key of one of ts's trusted Ed25519 leaf
// certificates (self-signed allowed) that meets the same usage rules.
//
// The trust decision is made before the archive is read where possible.
// Errors wrap ErrMalformed, ErrBadSignature, ErrUntrusted or ErrExpired with
// the reason; ErrExpired is only reported for a certificate that would
// otherwise be trusted. I/O errors and ctx errors are returned wrapped as
// they are. The archive is read once, in chunks, checking ctx in between.
func (ts *TrustStore) Verify(ctx context.Context, sf SignatureFile, archive io.Reader, now time.Time) (*Result, error) {
	if len(sf.Signature) != ed25519.SignatureSize {
		return nil, fmt.Errorf("chain: verify: %w: signature is %d bytes, want %d", ErrMalformed, len(sf.Signature), ed25519.SignatureSize)
	}
	if archive == nil {
		return nil, errors.New("chain: verify: no archive")
	}
	if sf.Certificate == nil {
		return ts.verifyWithStoreLeaf(ctx, sf.Signature, archive, now)
	}
	der, err := singleCertificateBlock(sf.Certificate)
	if err != nil {
		return nil, fmt.Errorf("chain: verify: certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("chain: verify: certificate: %w: %v", ErrMalformed, err)
	}
	if err := checkSigningProfile(leaf); err != nil {
		return nil, fmt.Errorf("chain: verify: %w", err)
	}
	path, err := ts.verifyPath(leaf, now)
	if err != nil {
		return nil, fmt.Errorf("chain: verify: %w", err)
	}
	v, err := eddsa.NewVerifier(leaf.PublicKey.(ed25519.PublicKey), sf.Signature)
	if err != nil {
		return nil, fmt.Errorf("chain: verify: %w", signatureSetupError(err))
	}
	sum, err := stream(ctx, archive, v)
	if err != nil {
		return nil, fmt.Errorf("chain: verify: %w", err)
	}
	if err := v.Verify(); err != nil {
		return nil, fmt.Errorf("chain: verify: %w: signature does not match the archive and certificate %q", ErrBadSignature, leaf.Subject)
	}
	var issuers []string
	for _, c := range path[1:] {
		issuers = append(issuers, c.Subject.String())
	}
	return newResult(leaf, issuers, sum, false), nil
}

// verifyPath runs PKIX path validation of leaf to a root of ts at now and
// returns the chain, leaf first. Expiry is told apart from distrust: Go's
// x509 checks the leaf's dates before building any chain, so an out-of-date
// leaf is validated again at the edge of its own validity window, and only
// reported as expired if it chains there.
func (ts *TrustStore) verifyPath(leaf *x509.Certificate, now time.Time) ([]*x509.Certificate, error) {
	opts := x509.VerifyOptions{
		Roots:         pool(ts.roots), // never nil: nil would mean the system roots
		Intermediates: pool(ts.intermediates),
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	leafExpired := validityError(leaf, now)
	if leafExpired != nil {
		opts.CurrentTime = clampToValidity(leaf, now)
	}
	chains, err := leaf.Verify(opts)
	var invalid x509.CertificateInvalidError
	switch {
	case err == nil && leafExpired != nil:
		return nil, fmt.Errorf("%w: %v", ErrExpired, leafExpired)
	case err == nil:
		return chains[0], nil
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired && leafExpired != nil:
		return nil, fmt.Errorf("%w: %v (and %v)", ErrExpired, leafExpired, validityError(invalid.Cert, opts.CurrentTime))
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return nil, fmt.Errorf("%w: %v", ErrExpired, validityError(invalid.Cert, opts.CurrentTime))
	case leafExpired != nil:
		return nil, fmt.Errorf("%w: %v (and %v)", ErrUntrusted, err, leafExpired)
	default:
		return nil, fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
}

// verifyWithStoreLeaf verifies a signature file without certificate against
// every trusted Ed25519 leaf of ts, reading the archive once for all.
func (ts *TrustStore) verifyWithStoreLeaf(ctx context.Context, sig []byte, archive io.Reader, now time.Time) (*Result, error) {
	var certs []*x509.Certificate
	var verifiers []*eddsa.Verifier
	for _, c := range ts.leaves {
		pub, ok := c.PublicKey.(ed25519.PublicKey)
		if !ok {
			continue
		}
		v, err := eddsa.NewVerifier(pub, sig)
		if errors.Is(err, eddsa.ErrInvalidKey) {
			continue // this certificate's key can verify nothing
		}
		if err != nil {
			return nil, fmt.Errorf("chain: verify: %w", signatureSetupError(err))
		}
		certs = append(certs, c)
		verifiers = append(verifiers, v)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("chain: verify: %w: signature file has no certificate and the trust store holds no Ed25519 signing certificate", ErrUntrusted)
	}
	writers := make([]io.Writer, len(verifiers))
	for i, v := range verifiers {
		writers[i] = v
	}
	sum, err := stream(ctx, archive, writers...)
	if err != nil {
		return nil, fmt.Errorf("chain: verify: %w", err)
	}
	// Several trusted certificates may share a key (renewal); prefer one
	// that is usable, then explain why the best match is not.
	var firstErr error
	for i, v := range verifiers {
		if v.Verify() != nil {
			continue
		}
		c := certs[i]
		err := checkSigningProfile(c)
		if err == nil {
			if verr := validityError(c, now); verr != nil {
				err = fmt.Errorf("%w: %v", ErrExpired, verr)
			}
		}
		if err == nil {
			return newResult(c, nil, sum, true), nil
		}
		if firstErr == nil || (errors.Is(err, ErrExpired) && !errors.Is(firstErr, ErrExpired)) {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, fmt.Errorf("chain: verify: trust store certificate: %w", firstErr)
	}
	return nil, fmt.Errorf("chain: verify: %w: signature file has no certificate and the signature matches none of the %d trusted signing certificates", ErrBadSignature, len(certs))
}

// checkSigningProfile rejects certificates that may not sign apps whatever
// their chain: non-Ed25519 keys, CA certificates, a key usage without
// digitalSignature, and extended key usages without code signing (or any).
// No extended key usage extension means unrestricted, as in RFC 5280.
func checkSigningProfile(c *x509.Certificate) error {
	if _, ok := c.PublicKey.(ed25519.PublicKey); !ok {
		return fmt.Errorf("%w: certificate %q has a %s key, want Ed25519", ErrUntrusted, c.Subject, c.PublicKeyAlgorithm)
	}
	if c.IsCA {
		return fmt.Errorf("%w: certificate %q is a CA certificate, not a signing certificate", ErrUntrusted, c.Subject)
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return fmt.Errorf("%w: certificate %q key usage does not allow digital signatures", ErrUntrusted, c.Subject)
	}
	if len(c.ExtKeyUsage) > 0 || len(c.UnknownExtKeyUsage) > 0 {
		if !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageCodeSigning) && !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageAny) {
			return fmt.Errorf("%w: certificate %q is not valid for code signing (extended key usage)", ErrUntrusted, c.Subject)
		}
	}
	return nil
}

// validityError describes why c is not valid at t, or returns nil.
func validityError(c *x509.Certificate, t time.Time) error {
	switch {
	case t.After(c.NotAfter):
		return fmt.Errorf("certificate %q expired at %s", c.Subject, c.NotAfter.UTC().Format(time.RFC3339))
	case t.Before(c.NotBefore):
		return fmt.Errorf("certificate %q is not valid before %s", c.Subject, c.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

func clampToValidity(c *x509.Certificate, t time.Time) time.Time {
	switch {
	case t.After(c.NotAfter):
		return c.NotAfter
	case t.Before(c.NotBefore):
		return c.NotBefore
	}
	return t
}

// signatureSetupError maps an eddsa.NewVerifier error, which can only be a
// signature no message makes valid or a key that is not a curve point.
func signatureSetupError(err error) error {
	if errors.Is(err, eddsa.ErrInvalidSignature) {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return fmt.Errorf("%w: signing certificate key: %v", ErrUntrusted, err)
}

func pool(certs []*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// stream copies archive into SHA-256 and ws in one pass, checking ctx
// between chunks, and returns the SHA-256.
func stream(ctx context.Context, archive io.Reader, ws ...io.Writer) ([]byte, error) {
	h := sha256.New()
	dst := io.MultiWriter(append([]io.Writer{h}, ws...)...)
	// Archives are up to 512 MiB and are never held in memory.
	if _, err := ctxio.Copy(ctx, dst, archive); err != nil {
		return nil, fmt.Errorf("read archive: %w", err)
	}
	return h.Sum(nil), nil
}

func newResult(c *x509.Certificate, issuers []string, sum []byte, fromStore bool) *Result {
	fp := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return &Result{
		Subject:        c.Subject.String(),
		Issuers:        issuers,
		Serial:         hex.EncodeToString(c.SerialNumber.Bytes()),
		NotAfter:       c.NotAfter,
		SHA256:         hex.EncodeToString(sum),
		KeyFingerprint: hex.EncodeToString(fp[:]),
		FromTrustStore: fromStore,
		Certificate:    c,
	}
}

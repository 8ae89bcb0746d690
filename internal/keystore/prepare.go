package keystore

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/appsign/signer/internal/kms"
)

// certSkew is how far in the future an issued certificate's NotBefore may
// lie (the issuer's clock may run ahead of ours).
const certSkew = 5 * time.Minute

// destroyTimeout bounds destroying a backend key after a failed rotation,
// which runs even when the caller's context is done.
const destroyTimeout = 30 * time.Second

// candidate is a new key version that has passed every check and waits to
// be committed.
type candidate struct {
	uri     kms.URI
	signer  kms.Signer
	pub     ed25519.PublicKey
	cert    *x509.Certificate
	created time.Time
	// destroy removes the backend key; nil for imported keys, which the
	// store did not make and never destroys.
	destroy func(context.Context) error
}

// newBackendKey creates a key in spec's backend and readies it as a version
// of key name. On failure nothing is left behind (or, if the backend key
// cannot be destroyed, that is logged).
func (s *Store) newBackendKey(ctx context.Context, name string, role Role, spec BackendSpec) (*candidate, error) {
	if role == RoleArchiveSigning && s.issuer == nil {
		return nil, invalidRequest(nil, "key %s: archive-signing keys need a certificate issuer and this server has none configured", name)
	}
	backend, err := s.reg.Backend(spec.Scheme)
	if err != nil {
		return nil, invalidRequest(err, "key %s: backend %q is not one this server serves", name, spec.Scheme)
	}
	creator, ok := backend.(kms.KeyCreator)
	if !ok {
		return nil, invalidRequest(kms.ErrUnsupported, "key %s: backend %s cannot create keys; choose a backend that can", name, spec.Scheme)
	}
	backendName, err := s.backendKeyName(name)
	if err != nil {
		return nil, err
	}
	created := s.now()
	uri, err := creator.CreateKey(ctx, kms.CreateKeyRequest{Name: backendName, Purpose: string(role), Attrs: spec.Attrs})
	if err != nil {
		return nil, fmt.Errorf("keystore: key %s: create backend key: %w", name, err)
	}
	c := &candidate{uri: uri, created: created}
	if d, ok := backend.(kms.KeyDestroyer); ok {
		c.destroy = func(ctx context.Context) error { return d.DestroyKey(ctx, uri) }
	} else {
		c.destroy = func(context.Context) error {
			return fmt.Errorf("backend %s cannot destroy keys: %w", spec.Scheme, kms.ErrUnsupported)
		}
	}
	if err := s.ready(ctx, c, name, role, nil); err != nil {
		s.discard(ctx, name, c)
		return nil, err
	}
	return c, nil
}

// importedKey readies an existing backend key as a version of key name.
func (s *Store) importedKey(ctx context.Context, name string, role Role, uri kms.URI, cert *x509.Certificate) (*candidate, error) {
	if role == RoleArchiveSigning && cert == nil {
		return nil, fmt.Errorf("%w: key %s: an archive-signing key needs its certificate", ErrInvalidRequest, name)
	}
	c := &candidate{uri: uri, created: s.now()}
	if err := s.ready(ctx, c, name, role, cert); err != nil {
		s.discard(ctx, name, c)
		return nil, err
	}
	return c, nil
}

// ready loads c's key through the registry (so every signature is verified
// in software), checks it can serve role, test-signs, and issues (or
// checks) its certificate.
func (s *Store) ready(ctx context.Context, c *candidate, name string, role Role, cert *x509.Certificate) error {
	signer, err := s.reg.LoadSigner(ctx, c.uri)
	if err != nil {
		return fmt.Errorf("keystore: key %s: load %s: %w", name, c.uri, err)
	}
	c.signer = signer
	c.pub = signer.Public()
	if len(c.pub) != ed25519.PublicKeySize {
		return fmt.Errorf("keystore: key %s: %s: %w: public key is %d bytes", name, c.uri, ErrKeyMismatch, len(c.pub))
	}
	if role == RoleArchiveSigning && !signer.Limits().CanSign(s.opts.ArchiveSize) {
		return fmt.Errorf("keystore: key %s: %s: %w: it cannot pure-sign a %d-byte archive (largest message %d)",
			name, c.uri, ErrUnsuitableKey, s.opts.ArchiveSize, signer.Limits().MaxMessage)
	}
	if err := s.selfTest(ctx, name, signer); err != nil {
		return err
	}
	now := s.now()
	if cert == nil && role == RoleArchiveSigning {
		cert, err = s.issuer.IssueSigningCert(ctx, name, c.pub, now)
		if err != nil {
			return fmt.Errorf("keystore: key %s: issue certificate: %w", name, err)
		}
		if cert == nil {
			return fmt.Errorf("keystore: key %s: issue certificate: issuer returned none", name)
		}
	}
	if cert != nil {
		if err := checkCert(cert, c.pub, role, now); err != nil {
			return fmt.Errorf("keystore: key %s: %w", name, err)
		}
	}
	c.cert = cert
	return nil
}

// selfTest signs a fresh message and verifies the signature with the
// public key the backend reported, independently of the registry's own
// verify-after-sign.
func (s *Store) selfTest(ctx context.Context, name string, signer kms.Signer) error {
	nonce := make([]byte, 32)
	if _, err := io.ReadFull(s.opts.Rand, nonce); err != nil {
		return fmt.Errorf("keystore: key %s: self-test: random: %w", name, err)
	}
	msg := slices.Concat([]byte("appsign keystore self-test\x00"+name+"\x00"), nonce)
	sig, err := signer.SignMessage(ctx, msg)
	if err != nil {
		return fmt.Errorf("keystore: key %s: self-test signature: %w", name, err)
	}
	if !ed25519.Verify(signer.Public(), msg, sig) {
		return fmt.Errorf("keystore: key %s: %w: self-test signature with %s does not verify", name, ErrKeyMismatch, signer.URI())
	}
	return nil
}

// checkCert checks that cert certifies pub, is valid at now and, for
// archive signing, allows code signing (the profile the verifier demands).
func checkCert(cert *x509.Certificate, pub ed25519.PublicKey, role Role, now time.Time) error {
	cp, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok || !cp.Equal(pub) {
		return fmt.Errorf("%w: certificate %s is not for this key", ErrKeyMismatch, cert.SerialNumber.Text(16))
	}
	if now.After(cert.NotAfter) || now.Add(certSkew).Before(cert.NotBefore) {
		return fmt.Errorf("%w: certificate %s is not valid now (valid %s to %s)", ErrUnsuitableKey, cert.SerialNumber.Text(16),
			cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	}
	if role != RoleArchiveSigning {
		return nil
	}
	if cert.IsCA {
		return fmt.Errorf("%w: certificate %s is a CA certificate", ErrUnsuitableKey, cert.SerialNumber.Text(16))
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return fmt.Errorf("%w: certificate %s does not allow digital signatures", ErrUnsuitableKey, cert.SerialNumber.Text(16))
	}
	if (len(cert.ExtKeyUsage) > 0 || len(cert.UnknownExtKeyUsage) > 0) &&
		!slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageCodeSigning) && !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return fmt.Errorf("%w: certificate %s does not allow code signing", ErrUnsuitableKey, cert.SerialNumber.Text(16))
	}
	return nil
}

// discard closes c's signer and destroys its backend key, if the store made
// it. It runs after the caller's context may be done, so it has its own
// deadline; a key it cannot destroy is logged with its URI.
func (s *Store) discard(ctx context.Context, name string, c *candidate) {
	if c.signer != nil {
		_ = c.signer.Close()
	}
	if c.destroy == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), destroyTimeout)
	defer cancel()
	if err := c.destroy(ctx); err != nil && !errors.Is(err, kms.ErrKeyNotFound) {
		s.opts.Log.ErrorContext(ctx, "keystore: orphaned backend key: destroy after a failed change failed; destroy it by hand",
			"key", name, "backend_uri", c.uri.String(), "error", err.Error())
	}
}

// keep closes c's signer but leaves its backend key, for when the commit's
// outcome is unknown and the key may be an active version.
func (s *Store) keep(name string, c *candidate, why error) {
	if c.signer != nil {
		_ = c.signer.Close()
	}
	if c.destroy != nil {
		s.opts.Log.Warn("keystore: backend key kept: the commit may have succeeded; check key_versions and destroy it if unused",
			"key", name, "backend_uri", c.uri.String(), "error", why.Error())
	}
}

// backendKeyName names a new backend key after the key, the time and a
// random suffix, so replicas rotating at once never collide in a backend
// and an operator browsing the HSM or KMS sees what each key is.
func (s *Store) backendKeyName(name string) (string, error) {
	suffix := make([]byte, 4)
	if _, err := io.ReadFull(s.opts.Rand, suffix); err != nil {
		return "", fmt.Errorf("keystore: key %s: random: %w", name, err)
	}
	return fmt.Sprintf("%s-%s-%s", name, s.now().Format("20060102t150405z"), hex.EncodeToString(suffix)), nil
}

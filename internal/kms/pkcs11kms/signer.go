package pkcs11kms

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"

	"github.com/miekg/pkcs11"

	"github.com/appsign/signer/internal/kms"
)

// Signer is an Ed25519 key on the token. It signs single-part with
// CKM_EDDSA (pure Ed25519) on a session borrowed from the backend's pool.
// It implements neither kms.StreamSigner nor kms.PrehashSigner.
type Signer struct {
	p   *pool
	ref keyRef
	uri kms.URI
	pub ed25519.PublicKey
	max int64

	mu     sync.Mutex
	handle pkcs11.ObjectHandle
	gen    uint64 // pool generation handle was found in; 0: none
	closed bool
}

var _ kms.Signer = (*Signer)(nil)

// URI implements kms.Signer: token, object label and hex id of the key.
func (s *Signer) URI() kms.URI { return s.uri }

// Public implements kms.Signer.
func (s *Signer) Public() ed25519.PublicKey { return s.pub }

// Limits implements kms.Signer: messages up to Options.MaxMessage, no
// streaming (CKM_EDDSA is single-part), no Ed25519ph.
func (s *Signer) Limits() kms.Limits { return kms.Limits{MaxMessage: s.max} }

// SignMessage implements kms.Signer. A context cancelled before the token
// is reached returns ctx.Err(); a C_Sign in progress cannot be interrupted.
func (s *Signer) SignMessage(ctx context.Context, msg []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("pkcs11: sign %s: %w", s.uri, kms.ErrClosed)
	}
	if int64(len(msg)) > s.max {
		return nil, fmt.Errorf("pkcs11: sign %s: %w: %d bytes, limit %d", s.uri, kms.ErrMessageTooLarge, len(msg), s.max)
	}
	return s.sign(ctx, msg)
}

// sign signs msg on the token, whatever Limits says.
func (s *Signer) sign(ctx context.Context, msg []byte) ([]byte, error) {
	var sig []byte
	err := s.p.do(ctx, func(c call) error {
		h, err := s.key(c)
		if err != nil {
			return err
		}
		sig, err = sign(c, h, msg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: sign %s: %w", s.uri, err)
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("pkcs11: sign %s: %w: %d-byte signature", s.uri, kms.ErrBackendFault, len(sig))
	}
	return sig, nil
}

// key returns the private key's object handle, looking it up again after
// the pool lost its sessions or when retrying.
func (s *Signer) key(c call) (pkcs11.ObjectHandle, error) {
	s.mu.Lock()
	h, gen := s.handle, s.gen
	s.mu.Unlock()
	if gen == c.gen && !c.retry {
		return h, nil
	}
	h, err := s.ref.findOne(c, pkcs11.CKO_PRIVATE_KEY)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.handle, s.gen = h, c.gen
	s.mu.Unlock()
	return h, nil
}

// Close implements kms.Signer. The key stays on the token; closing twice
// is not an error.
func (s *Signer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

package softkms

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"sync"

	"github.com/appsign/signer/internal/eddsa"
	"github.com/appsign/signer/internal/kms"
)

// Signer is a loaded software key.
type Signer struct {
	uri kms.URI
	pub ed25519.PublicKey

	mu     sync.RWMutex
	priv   ed25519.PrivateKey
	closed bool
}

var _ kms.StreamSigner = (*Signer)(nil)

// URI implements kms.Signer.
func (s *Signer) URI() kms.URI { return s.uri }

// Public implements kms.Signer.
func (s *Signer) Public() ed25519.PublicKey { return s.pub }

// Limits implements kms.Signer: software keys stream messages of any size.
func (s *Signer) Limits() kms.Limits { return kms.Limits{MaxMessage: kms.Unlimited, Streams: true} }

func (s *Signer) key() (ed25519.PrivateKey, func(), error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, nil, fmt.Errorf("softkms: %s: %w", s.uri, kms.ErrClosed)
	}
	return s.priv, s.mu.RUnlock, nil
}

// SignMessage implements kms.Signer.
func (s *Signer) SignMessage(ctx context.Context, msg []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	priv, unlock, err := s.key()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return ed25519.Sign(priv, msg), nil
}

// SignStream implements kms.StreamSigner with two streaming passes.
func (s *Signer) SignStream(ctx context.Context, msg io.ReaderAt, size int64) ([]byte, error) {
	priv, unlock, err := s.key()
	if err != nil {
		return nil, err
	}
	defer unlock()
	sig, err := eddsa.Sign(ctx, priv, msg, size)
	if err != nil {
		return nil, fmt.Errorf("softkms: sign stream: %w", err)
	}
	return sig, nil
}

// Close wipes the private key from memory. Closing twice is not an error.
func (s *Signer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		clear(s.priv)
		s.closed = true
	}
	return nil
}

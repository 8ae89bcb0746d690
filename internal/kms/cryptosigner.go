package kms

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
)

// CryptoSigner adapts a Signer to crypto.Signer so crypto/x509 can issue
// certificates and CRLs with a key held in any backend. Only pure Ed25519
// is offered: opts.HashFunc() must be 0, as crypto/x509 passes for Ed25519.
// ctx bounds every signature the adapter makes.
func CryptoSigner(ctx context.Context, s Signer) crypto.Signer {
	return &cryptoSigner{ctx: ctx, s: s}
}

type cryptoSigner struct {
	ctx context.Context
	s   Signer
}

func (c *cryptoSigner) Public() crypto.PublicKey { return c.s.Public() }

func (c *cryptoSigner) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts != nil && opts.HashFunc() != crypto.Hash(0) {
		return nil, fmt.Errorf("%w: crypto.Signer adapter signs pure Ed25519 only, not prehashed with %v", ErrUnsupported, opts.HashFunc())
	}
	if o, ok := opts.(*ed25519.Options); ok && o.Context != "" {
		return nil, errors.New("kms: Ed25519ctx is not supported")
	}
	return c.s.SignMessage(c.ctx, msg)
}

package sealedkms

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/appsign/signer/internal/eddsa"
	kmsapi "github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/awskms/awscall"
)

// LoadSigner reads the sealed key file, has KMS decrypt it under the
// recorded encryption context, and keeps the key in memory only.
func (b *Backend) LoadSigner(ctx context.Context, uri kmsapi.URI) (kmsapi.Signer, error) {
	ref, err := parseURI(uri)
	if err != nil {
		return nil, err
	}
	if err := b.checkOpen(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	env, err := readEnvelope(ref.path)
	if err != nil {
		return nil, err
	}
	if got := env.Context[ctxEnvironment]; got != b.opts.Environment {
		return nil, fmt.Errorf("sealedkms: load %s: %w: key is sealed for environment %q, this service runs in %q", uri, kmsapi.ErrPermission, got, b.opts.Environment)
	}
	kek := ref.kek
	if kek == "" {
		kek = env.KEK
	}
	u := &unsealer{b: b, kek: kek, env: env}
	priv, kekARN, err := u.unseal(ctx)
	if err != nil {
		return nil, fmt.Errorf("sealedkms: load %s: %w", uri, err)
	}
	s := &Signer{b: b, uri: keyURI(ref.path, kekARN), pub: priv.Public().(ed25519.PublicKey), priv: priv}
	s.gate = newGate(func(ctx context.Context) error {
		p, _, err := u.unseal(ctx)
		clear(p)
		return err
	}, b.opts)
	b.mu.Lock()
	b.signers[s] = struct{}{}
	b.mu.Unlock()
	return s, nil
}

// unsealer decrypts one sealed key.
type unsealer struct {
	b   *Backend
	kek string
	env *envelope
}

// unseal returns the private key and the ARN of the KEK that decrypted it.
// The decrypted PKCS#8 bytes are wiped before it returns.
func (u *unsealer) unseal(ctx context.Context) (ed25519.PrivateKey, string, error) {
	out, err := awscall.Do(ctx, u.b.retry, "Decrypt", func(ctx context.Context) (*kms.DecryptOutput, error) {
		return u.b.opts.Client.Decrypt(ctx, &kms.DecryptInput{
			CiphertextBlob:      u.env.SealedKey,
			KeyId:               aws.String(u.kek),
			EncryptionContext:   u.env.Context,
			EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
		}, awscall.NoSDKRetry)
	})
	if err != nil {
		return nil, "", fmt.Errorf("unseal with key encryption key %s: %w", u.kek, err)
	}
	defer clear(out.Plaintext)
	k, err := x509.ParsePKCS8PrivateKey(out.Plaintext)
	if err != nil {
		return nil, "", fmt.Errorf("%w: unsealed key is not PKCS#8", kmsapi.ErrInvalidKey)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, "", fmt.Errorf("%w: unsealed key is %T, want Ed25519", kmsapi.ErrInvalidKey, k)
	}
	if !priv.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(u.env.PublicKey)) {
		clear(priv)
		return nil, "", fmt.Errorf("%w: unsealed key does not match the envelope's public key", kmsapi.ErrInvalidKey)
	}
	return priv, aws.ToString(out.KeyId), nil
}

// Signer is a loaded sealed key.
type Signer struct {
	b    *Backend
	uri  kmsapi.URI
	pub  ed25519.PublicKey
	gate *gate

	mu     sync.RWMutex
	priv   ed25519.PrivateKey
	closed bool
}

var _ kmsapi.StreamSigner = (*Signer)(nil)

// URI implements kms.Signer: "sealedkms:kek=<KEK ARN>;path=<file>".
func (s *Signer) URI() kmsapi.URI { return s.uri }

// Public implements kms.Signer.
func (s *Signer) Public() ed25519.PublicKey { return s.pub }

// Limits implements kms.Signer: sealed keys stream messages of any size.
func (s *Signer) Limits() kmsapi.Limits {
	return kmsapi.Limits{MaxMessage: kmsapi.Unlimited, Streams: true}
}

// begin checks that the signer is open and its KEK still allows signing,
// and returns the key read-locked.
func (s *Signer) begin(ctx context.Context, what string) (ed25519.PrivateKey, func(), error) {
	if s.isClosed() {
		return nil, nil, fmt.Errorf("sealedkms: %s %s: %w", what, s.uri, kmsapi.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if err := s.gate.allow(ctx); err != nil {
		return nil, nil, fmt.Errorf("sealedkms: %s %s: signing suspended: %w", what, s.uri, err)
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, nil, fmt.Errorf("sealedkms: %s %s: %w", what, s.uri, kmsapi.ErrClosed)
	}
	return s.priv, s.mu.RUnlock, nil
}

func (s *Signer) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// SignMessage implements kms.Signer.
func (s *Signer) SignMessage(ctx context.Context, msg []byte) ([]byte, error) {
	priv, unlock, err := s.begin(ctx, "sign")
	if err != nil {
		return nil, err
	}
	defer unlock()
	return ed25519.Sign(priv, msg), nil
}

// SignStream implements kms.StreamSigner: pure Ed25519 in two streaming passes.
func (s *Signer) SignStream(ctx context.Context, msg io.ReaderAt, size int64) ([]byte, error) {
	priv, unlock, err := s.begin(ctx, "sign stream")
	if err != nil {
		return nil, err
	}
	defer unlock()
	sig, err := eddsa.Sign(ctx, priv, msg, size)
	if err != nil {
		return nil, fmt.Errorf("sealedkms: sign stream %s: %w", s.uri, err)
	}
	return sig, nil
}

// Close wipes the private key from memory. Closing twice is not an error.
func (s *Signer) Close() error {
	s.mu.Lock()
	if !s.closed {
		clear(s.priv)
		s.closed = true
	}
	s.mu.Unlock()
	s.b.mu.Lock()
	delete(s.b.signers, s)
	s.b.mu.Unlock()
	return nil
}

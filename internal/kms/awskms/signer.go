package awskms

import (
	"context"
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/x509"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	kmsapi "github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/awskms/awscall"
)

// LoadSigner fetches the key's public key once and checks that it is an
// Ed25519 signing key. Unknown keys give kms.ErrKeyNotFound.
func (b *Backend) LoadSigner(ctx context.Context, uri kmsapi.URI) (kmsapi.Signer, error) {
	ref, err := parseURI(uri)
	if err != nil {
		return nil, err
	}
	if err := b.checkOpen(); err != nil {
		return nil, err
	}
	out, err := awscall.Do(ctx, b.retry, "GetPublicKey", func(ctx context.Context) (*kms.GetPublicKeyOutput, error) {
		return b.client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(ref.keyID)}, callOpts(ref.region)...)
	})
	if err != nil {
		return nil, fmt.Errorf("awskms: load %s: %w", uri, err)
	}
	if out.KeySpec != types.KeySpecEccNistEdwards25519 || out.KeyUsage != types.KeyUsageTypeSignVerify {
		return nil, fmt.Errorf("awskms: load %s: %w: key spec %s, usage %s; want %s for %s",
			uri, kmsapi.ErrInvalidKey, out.KeySpec, out.KeyUsage, types.KeySpecEccNistEdwards25519, types.KeyUsageTypeSignVerify)
	}
	if !slices.Contains(out.SigningAlgorithms, types.SigningAlgorithmSpecEd25519Sha512) {
		return nil, fmt.Errorf("awskms: load %s: %w: key does not offer %s", uri, kmsapi.ErrInvalidKey, types.SigningAlgorithmSpecEd25519Sha512)
	}
	pk, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("awskms: load %s: %w: public key is not a valid SubjectPublicKeyInfo", uri, kmsapi.ErrInvalidKey)
	}
	pub, ok := pk.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("awskms: load %s: %w: public key is %T, want Ed25519", uri, kmsapi.ErrInvalidKey, pk)
	}
	keyARN := aws.ToString(out.KeyId)
	a, ok := parseARN(keyARN)
	if !ok {
		return nil, fmt.Errorf("awskms: load %s: KMS returned key id %q, want a key ARN", uri, keyARN)
	}
	region := a.region
	b.track(keyARN, +1)
	return &Signer{
		b:      b,
		uri:    kmsapi.NewURI(Scheme, map[string]string{"key-id": keyARN}),
		keyARN: keyARN,
		region: region,
		pub:    pub,
	}, nil
}

// Signer is a loaded KMS Ed25519 key. It holds no key material.
type Signer struct {
	b      *Backend
	uri    kmsapi.URI
	keyARN string
	region string
	pub    ed25519.PublicKey
	closed atomic.Bool
}

var _ kmsapi.PrehashSigner = (*Signer)(nil)

// URI implements kms.Signer: "awskms:key-id=<key ARN>".
func (s *Signer) URI() kmsapi.URI { return s.uri }

// Public implements kms.Signer.
func (s *Signer) Public() ed25519.PublicKey { return s.pub }

// Limits implements kms.Signer: at most 4096 bytes, no streaming, Ed25519ph available.
func (s *Signer) Limits() kmsapi.Limits {
	return kmsapi.Limits{MaxMessage: MaxMessage, Streams: false, Prehash: true}
}

// SignMessage implements kms.Signer with Sign(ED25519_SHA_512, RAW). A
// message over 4096 bytes gives kms.ErrMessageTooLarge without a KMS call.
// KMS itself refuses an empty message (kms.ErrUnsupported).
func (s *Signer) SignMessage(ctx context.Context, msg []byte) ([]byte, error) {
	if len(msg) > MaxMessage {
		return nil, fmt.Errorf("awskms: sign %s: %w: %d bytes, KMS signs at most %d", s.uri, kmsapi.ErrMessageTooLarge, len(msg), MaxMessage)
	}
	if msg == nil {
		msg = []byte{} // let KMS, not the SDK's nil check, judge an empty message
	}
	return s.sign(ctx, "sign", msg, types.SigningAlgorithmSpecEd25519Sha512, types.MessageTypeRaw)
}

// SignPrehashed implements kms.PrehashSigner with Sign(ED25519_PH_SHA_512,
// DIGEST): the result is an Ed25519ph signature over sha512Digest.
func (s *Signer) SignPrehashed(ctx context.Context, sha512Digest []byte) ([]byte, error) {
	if len(sha512Digest) != sha512.Size {
		return nil, fmt.Errorf("awskms: sign prehashed %s: digest is %d bytes, want a %d-byte SHA-512 digest", s.uri, len(sha512Digest), sha512.Size)
	}
	return s.sign(ctx, "sign prehashed", sha512Digest, types.SigningAlgorithmSpecEd25519PhSha512, types.MessageTypeDigest)
}

func (s *Signer) sign(ctx context.Context, what string, msg []byte, alg types.SigningAlgorithmSpec, typ types.MessageType) ([]byte, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("awskms: %s %s: %w", what, s.uri, kmsapi.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out, err := awscall.Do(ctx, s.b.retry, "Sign", func(ctx context.Context) (*kms.SignOutput, error) {
		return s.b.client.Sign(ctx, &kms.SignInput{
			KeyId:            aws.String(s.keyARN),
			Message:          msg,
			MessageType:      typ,
			SigningAlgorithm: alg,
		}, callOpts(s.region)...)
	})
	if err != nil {
		return nil, fmt.Errorf("awskms: %s %s: %w", what, s.uri, err)
	}
	if len(out.Signature) != ed25519.SignatureSize || out.SigningAlgorithm != alg {
		return nil, fmt.Errorf("awskms: %s %s: %w: KMS returned a %d-byte %s signature", what, s.uri, kmsapi.ErrBackendFault, len(out.Signature), out.SigningAlgorithm)
	}
	return out.Signature, nil
}

// Close implements kms.Signer. Closing twice is not an error.
func (s *Signer) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.b.track(s.keyARN, -1)
	}
	return nil
}

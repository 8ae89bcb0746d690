package kms

import (
	"context"
	"crypto/ed25519"
	"io"
)

// Unlimited is the MaxMessage of a backend that streams messages of any size.
const Unlimited int64 = -1

// Limits declares what a key can pure-sign, so the service chooses a key
// that can do the job and otherwise answers FailedPrecondition — it never
// falls back to Ed25519ph silently.
type Limits struct {
	// MaxMessage is the largest message SignMessage accepts, in bytes, or Unlimited.
	MaxMessage int64
	// Streams is true when the signer implements StreamSigner.
	Streams bool
	// Prehash is true when the signer implements PrehashSigner (Ed25519ph).
	Prehash bool
}

// CanSign reports whether a message of size bytes can be pure-signed.
func (l Limits) CanSign(size int64) bool {
	return l.Streams || l.MaxMessage == Unlimited || size <= l.MaxMessage
}

// Signer is a loaded Ed25519 key.
type Signer interface {
	// URI is the key's canonical URI.
	URI() URI
	// Public returns the Ed25519 public key. It does not change for the life of the key.
	Public() ed25519.PublicKey
	// Limits says what the key can sign.
	Limits() Limits
	// SignMessage returns the pure Ed25519 (RFC 8032) signature of msg.
	// It returns ErrMessageTooLarge beyond Limits().MaxMessage.
	SignMessage(ctx context.Context, msg []byte) ([]byte, error)
	// Close releases the key. Closing twice is not an error.
	Close() error
}

// StreamSigner is a Signer that can pure-sign a message of any size without
// holding it in memory; it reads msg more than once.
type StreamSigner interface {
	Signer
	SignStream(ctx context.Context, msg io.ReaderAt, size int64) ([]byte, error)
}

// PrehashSigner is a Signer that can produce Ed25519ph (RFC 8032 §5.1, the
// HashEdDSA variant) signatures over a SHA-512 digest. Only used where a
// prehash profile is explicitly asked for.
type PrehashSigner interface {
	Signer
	SignPrehashed(ctx context.Context, sha512Digest []byte) ([]byte, error)
}

// CreateKeyRequest describes a new key.
type CreateKeyRequest struct {
	// Name is the key's name within the backend (file name, HSM label, KMS alias).
	Name string
	// Purpose is recorded with the key where the backend allows (e.g. "archive-signing").
	Purpose string
	// Attrs are backend-specific URI attributes for the new key (e.g. region, token).
	Attrs map[string]string
}

// Backend is one kind of key custody, registered under a URI scheme.
type Backend interface {
	// Scheme is the URI scheme this backend owns, e.g. "softkms".
	Scheme() string
	// LoadSigner loads an existing key. Unknown keys give ErrKeyNotFound.
	LoadSigner(ctx context.Context, uri URI) (Signer, error)
	// Close releases backend resources (sessions, connections). Closing twice is not an error.
	Close() error
}

// KeyCreator is a Backend that can create keys.
type KeyCreator interface {
	Backend
	CreateKey(ctx context.Context, req CreateKeyRequest) (URI, error)
}

// KeyDestroyer is a Backend that can destroy keys.
type KeyDestroyer interface {
	Backend
	DestroyKey(ctx context.Context, uri URI) error
}

// HealthChecker is a Backend that can report whether it can sign right now.
type HealthChecker interface {
	Backend
	CheckHealth(ctx context.Context) error
}

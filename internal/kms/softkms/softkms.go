package softkms

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/appsign/signer/internal/eddsa"
	"github.com/appsign/signer/internal/kms"
)

// Scheme is the URI scheme of software keys.
const Scheme = "softkms"

// Options configures the backend.
type Options struct {
	// Dir is where CreateKey writes new key files (created 0700 if missing).
	// Loading accepts any absolute path.
	Dir string
	// Rand is the entropy source for new keys; nil means crypto/rand.
	Rand io.Reader
}

// Backend is the software key backend.
type Backend struct {
	opts Options
}

var _ kms.KeyCreator = (*Backend)(nil)
var _ kms.KeyDestroyer = (*Backend)(nil)

// New returns a software backend.
func New(opts Options) *Backend {
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	return &Backend{opts: opts}
}

// Scheme implements kms.Backend.
func (b *Backend) Scheme() string { return Scheme }

// Close implements kms.Backend; software keys hold no backend resources.
func (b *Backend) Close() error { return nil }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// CreateKey generates a key and writes it to Dir/Name.key with mode 0600.
// It refuses to overwrite an existing file.
func (b *Backend) CreateKey(ctx context.Context, req kms.CreateKeyRequest) (kms.URI, error) {
	if err := ctx.Err(); err != nil {
		return kms.URI{}, err
	}
	if b.opts.Dir == "" {
		return kms.URI{}, fmt.Errorf("softkms: create key: %w: no key directory configured", kms.ErrUnsupported)
	}
	if !nameRE.MatchString(req.Name) {
		return kms.URI{}, fmt.Errorf("softkms: create key: name %q: use letters, digits, '.', '_' or '-' (at most 128)", req.Name)
	}
	if err := os.MkdirAll(b.opts.Dir, 0o700); err != nil {
		return kms.URI{}, fmt.Errorf("softkms: create key directory: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(b.opts.Rand)
	if err != nil {
		return kms.URI{}, fmt.Errorf("softkms: generate key: %w", err)
	}
	path, err := filepath.Abs(filepath.Join(b.opts.Dir, req.Name+".key"))
	if err != nil {
		return kms.URI{}, fmt.Errorf("softkms: create key: %w", err)
	}
	if err := WriteKeyFile(path, priv); err != nil {
		return kms.URI{}, err
	}
	return kms.NewURI(Scheme, map[string]string{"path": path}), nil
}

// DestroyKey removes the key file.
func (b *Backend) DestroyKey(ctx context.Context, uri kms.URI) error {
	path, err := keyPath(uri)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("softkms: destroy %s: %w", uri, kms.ErrKeyNotFound)
		}
		return fmt.Errorf("softkms: destroy %s: %w", uri, err)
	}
	return nil
}

// LoadSigner reads the key file named by uri.
func (b *Backend) LoadSigner(ctx context.Context, uri kms.URI) (kms.Signer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path, err := keyPath(uri)
	if err != nil {
		return nil, err
	}
	priv, err := ReadKeyFile(path)
	if err != nil {
		return nil, err
	}
	canon := kms.NewURI(Scheme, map[string]string{"path": path})
	return &Signer{uri: canon, priv: priv, pub: priv.Public().(ed25519.PublicKey)}, nil
}

func keyPath(uri kms.URI) (string, error) {
	if uri.Scheme != Scheme {
		return "", fmt.Errorf("%w: scheme %q is not %s", kms.ErrInvalidURI, uri.Scheme, Scheme)
	}
	path, err := uri.Require("path")
	if err != nil {
		return "", err
	}
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("%w: softkms: path must be absolute", kms.ErrInvalidURI)
	}
	return filepath.Clean(path), nil
}

// ReadKeyFile reads an Ed25519 PKCS#8 PEM key file, refusing one that group
// or others can read.
func ReadKeyFile(path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("softkms: key file %s: %w", path, kms.ErrKeyNotFound)
		}
		return nil, fmt.Errorf("softkms: key file %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("softkms: key file %s has mode %04o: %w: make it readable by its owner only (chmod 600)", path, fi.Mode().Perm(), kms.ErrPermission)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("softkms: read key file %s: %w", path, err)
	}
	return ParsePrivateKeyPEM(data)
}

// ParsePrivateKeyPEM parses one PEM "PRIVATE KEY" block holding an Ed25519
// PKCS#8 key. Error texts never include key bytes.
func ParsePrivateKeyPEM(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("softkms: %w: want a PEM \"PRIVATE KEY\" (PKCS#8) block", kms.ErrInvalidKey)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("softkms: %w: not a PKCS#8 key", kms.ErrInvalidKey)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("softkms: %w: key is %T, want Ed25519", kms.ErrInvalidKey, k)
	}
	return priv, nil
}

// MarshalPrivateKeyPEM encodes priv as a PKCS#8 PEM block.
func MarshalPrivateKeyPEM(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("softkms: marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// WriteKeyFile writes priv as PKCS#8 PEM to path with mode 0600, refusing
// to replace an existing file.
func WriteKeyFile(path string, priv ed25519.PrivateKey) error {
	data, err := MarshalPrivateKeyPEM(priv)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("softkms: write key file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("softkms: write key file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("softkms: sync key file %s: %w", path, err)
	}
	return f.Close()
}

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

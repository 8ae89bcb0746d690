package softkms

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/appsign/signer/internal/kms"
)

// Scheme is the URI scheme of software keys.
const Scheme = "softkms"

// Options configures the backend.
type Options struct {
	// Dir is where CreateKey writes new key files (created 0700 if missing).
	// Loading accepts any absolute path.
	Dir string
	// Rand is the entropy source for new keys, salts and nonces; nil means crypto/rand.
	Rand io.Reader
	// PassphraseFile is a file holding the passphrase for encrypted key
	// files (one trailing newline is ignored). It must not be readable by
	// group or others. With a passphrase, CreateKey writes encrypted files;
	// plain key files still load.
	PassphraseFile string
	// PassphraseEnv is the name of an environment variable holding the
	// passphrase, used when PassphraseFile is empty.
	PassphraseEnv string
	// KDF is the Argon2id cost of new encrypted key files and the least
	// cost accepted when loading one; zero fields mean the defaults
	// (DefaultKDFTime, DefaultKDFMemoryKiB, DefaultKDFThreads).
	KDF KDFParams
}

// Backend is the software key backend.
type Backend struct {
	opts Options
}

var _ kms.KeyCreator = (*Backend)(nil)
var _ kms.KeyDestroyer = (*Backend)(nil)

// New returns a software backend. The passphrase, if configured, is read
// whenever a key file is loaded or created, so a bad passphrase source
// shows as an error of those calls.
func New(opts Options) *Backend {
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	opts.KDF = opts.KDF.withDefaults()
	return &Backend{opts: opts}
}

// Scheme implements kms.Backend.
func (b *Backend) Scheme() string { return Scheme }

// Close implements kms.Backend; software keys hold no backend resources.
func (b *Backend) Close() error { return nil }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// CreateKey generates a key and writes it to Dir/Name.key with mode 0600,
// encrypted when a passphrase is configured. It refuses to overwrite an
// existing file.
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
	pass, err := b.passphrase()
	if err != nil {
		return kms.URI{}, err
	}
	defer clear(pass)
	if err := os.MkdirAll(b.opts.Dir, 0o700); err != nil {
		return kms.URI{}, fmt.Errorf("softkms: create key directory: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(b.opts.Rand)
	if err != nil {
		return kms.URI{}, fmt.Errorf("softkms: generate key: %w", err)
	}
	defer clear(priv)
	path, err := filepath.Abs(filepath.Join(b.opts.Dir, req.Name+".key"))
	if err != nil {
		return kms.URI{}, fmt.Errorf("softkms: create key: %w", err)
	}
	if pass != nil {
		err = WriteEncryptedKeyFile(path, priv, pass, b.opts.KDF, b.opts.Rand)
	} else {
		err = WriteKeyFile(path, priv)
	}
	if err != nil {
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

// LoadSigner reads the key file named by uri, decrypting it with the
// configured passphrase if it is encrypted.
func (b *Backend) LoadSigner(ctx context.Context, uri kms.URI) (kms.Signer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path, err := keyPath(uri)
	if err != nil {
		return nil, err
	}
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	priv, err := b.parseKey(path, data)
	if err != nil {
		return nil, err
	}
	canon := kms.NewURI(Scheme, map[string]string{"path": path})
	return &Signer{uri: canon, priv: priv, pub: priv.Public().(ed25519.PublicKey)}, nil
}

// parseKey parses a plain key file, or decrypts an encrypted one with the
// configured passphrase.
func (b *Backend) parseKey(path string, data []byte) (ed25519.PrivateKey, error) {
	if !isEncryptedPEM(data) {
		priv, err := parsePEM(data)
		if err != nil {
			return nil, fmt.Errorf("softkms: key file %s: %w", path, err)
		}
		return priv, nil
	}
	pass, err := b.passphrase()
	if err != nil {
		return nil, err
	}
	if pass == nil {
		return nil, fmt.Errorf("softkms: key file %s is passphrase-encrypted: %w: no passphrase configured (PassphraseFile or PassphraseEnv)", path, kms.ErrPermission)
	}
	defer clear(pass)
	priv, err := decryptPEM(data, pass, b.opts.KDF)
	if err != nil {
		return nil, fmt.Errorf("softkms: key file %s: %w", path, err)
	}
	return priv, nil
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

package softkms

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
)

// ReadKeyFile reads an unencrypted Ed25519 PKCS#8 PEM key file, refusing
// one that group or others can read. An encrypted key file gives
// kms.ErrPermission; a Backend with a passphrase loads those.
func ReadKeyFile(path string) (ed25519.PrivateKey, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	if isEncryptedPEM(data) {
		return nil, fmt.Errorf("softkms: key file %s is passphrase-encrypted: %w: no passphrase given", path, kms.ErrPermission)
	}
	priv, err := parsePEM(data)
	if err != nil {
		return nil, fmt.Errorf("softkms: key file %s: %w", path, err)
	}
	return priv, nil
}

// readKeyFile returns the content of a key file that only its owner can
// read, through chain.ReadKeyFile (the mode is checked on the opened file,
// so it cannot be swapped after the check), in this backend's sentinels.
func readKeyFile(path string) ([]byte, error) {
	data, err := chain.ReadKeyFile(path)
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("softkms: key file %s: %w", path, kms.ErrKeyNotFound)
	case errors.Is(err, chain.ErrInsecureKeyFile):
		return nil, fmt.Errorf("softkms: %w: %w: make it readable by its owner only (chmod 600)", kms.ErrPermission, err)
	case errors.Is(err, chain.ErrInvalidKey):
		return nil, fmt.Errorf("softkms: %w", invalidKeyError{err})
	}
	return nil, fmt.Errorf("softkms: read key file %s: %w", path, err)
}

// parsePEM parses a plain key file with chain's strict PEM parser: one
// PKCS#8 Ed25519 "PRIVATE KEY" block and nothing else.
func parsePEM(data []byte) (ed25519.PrivateKey, error) {
	priv, err := chain.ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, invalidKeyError{err}
	}
	return priv, nil
}

// parsePKCS8 parses a decrypted PKCS#8 key with chain's parser.
func parsePKCS8(der []byte) (ed25519.PrivateKey, error) {
	priv, err := chain.ParsePrivateKeyDER(der)
	if err != nil {
		return nil, invalidKeyError{err}
	}
	return priv, nil
}

// invalidKeyError is a key that chain refuses to parse (chain.ErrInvalidKey,
// with its reason): for the callers of a backend it is kms.ErrInvalidKey.
type invalidKeyError struct{ err error }

func (e invalidKeyError) Error() string   { return e.err.Error() }
func (e invalidKeyError) Unwrap() []error { return []error{kms.ErrInvalidKey, e.err} }

// isEncryptedPEM reports whether data starts with an encrypted key block.
func isEncryptedPEM(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("-----BEGIN "+EncryptedPEMType+"-----"))
}

// WriteKeyFile writes priv as PKCS#8 PEM to path with mode 0600, refusing
// to replace an existing file.
func WriteKeyFile(path string, priv ed25519.PrivateKey) error {
	data, err := chain.MarshalPrivateKeyPEM(priv)
	if err != nil {
		return err
	}
	defer clear(data)
	return writeNewFile(path, data)
}

// writeNewFile creates path with mode 0600 and writes data, refusing to
// replace an existing file and removing a partly written one.
func writeNewFile(path string, data []byte) error {
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

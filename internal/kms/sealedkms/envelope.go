package sealedkms

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	kmsapi "github.com/appsign/signer/internal/kms"
)

// Envelope format identifiers.
const (
	envelopeFormat  = "appsign-sealed-ed25519"
	envelopeVersion = 1
	maxEnvelope     = 64 << 10
)

// Encryption context keys bound to every sealed key.
const (
	ctxKey         = "appsign-key"
	ctxPurpose     = "appsign-purpose"
	ctxEnvironment = "appsign-environment"
)

// envelope is the JSON content of a sealed key file. It holds no secret in
// the clear: SealedKey is KMS ciphertext.
type envelope struct {
	Format              string            `json:"format"`
	Version             int               `json:"version"`
	KEK                 string            `json:"kek"`
	EncryptionAlgorithm string            `json:"encryption_algorithm"`
	Context             map[string]string `json:"encryption_context"`
	PublicKey           []byte            `json:"public_key"`
	SealedKey           []byte            `json:"sealed_key"`
	Created             time.Time         `json:"created"`
}

// readEnvelope reads and checks a sealed key file, refusing one that group
// or others can read or write.
func readEnvelope(path string) (*envelope, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sealedkms: key file %s: %w", path, kmsapi.ErrKeyNotFound)
		}
		return nil, fmt.Errorf("sealedkms: key file %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("sealedkms: key file %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("sealedkms: key file %s has mode %04o: %w: make it readable by its owner only (chmod 600)", path, fi.Mode().Perm(), kmsapi.ErrPermission)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxEnvelope+1))
	if err != nil {
		return nil, fmt.Errorf("sealedkms: read key file %s: %w", path, err)
	}
	if len(data) > maxEnvelope {
		return nil, fmt.Errorf("sealedkms: key file %s: %w: larger than %d bytes", path, kmsapi.ErrInvalidKey, maxEnvelope)
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("sealedkms: key file %s: %w: not a sealed key envelope", path, kmsapi.ErrInvalidKey)
	}
	switch {
	case env.Format != envelopeFormat || env.Version != envelopeVersion:
		return nil, fmt.Errorf("sealedkms: key file %s: %w: format %q version %d, want %q version %d", path, kmsapi.ErrInvalidKey, env.Format, env.Version, envelopeFormat, envelopeVersion)
	case env.KEK == "" || len(env.SealedKey) == 0 || len(env.Context) == 0:
		return nil, fmt.Errorf("sealedkms: key file %s: %w: envelope lacks kek, sealed key or context", path, kmsapi.ErrInvalidKey)
	case len(env.PublicKey) != ed25519.PublicKeySize:
		return nil, fmt.Errorf("sealedkms: key file %s: %w: public key is %d bytes", path, kmsapi.ErrInvalidKey, len(env.PublicKey))
	}
	return &env, nil
}

// createFile creates path exclusively with mode 0600, so CreateKey never
// replaces a key.
func createFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sealedkms: create key file: %w", err)
	}
	return f, nil
}

// writeEnvelope writes env to f (created by createFile) and syncs it.
func writeEnvelope(f *os.File, env *envelope) error {
	data, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return fmt.Errorf("sealedkms: encode envelope: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("sealedkms: write key file %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sealedkms: sync key file %s: %w", f.Name(), err)
	}
	return nil
}

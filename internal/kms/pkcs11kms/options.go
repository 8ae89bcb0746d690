package pkcs11kms

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/appsign/signer/internal/kms"
)

// Scheme is the URI scheme of PKCS#11 keys.
const Scheme = "pkcs11"

const (
	// DefaultPoolSize is the number of sessions a backend keeps when
	// Options.PoolSize is zero.
	DefaultPoolSize = 4
	// DefaultMaxMessage is the largest message a signer accepts when
	// Options.MaxMessage is zero. SoftHSM2 signs this much in one C_Sign;
	// set MaxMessage to what a hardware token accepts.
	DefaultMaxMessage int64 = 256 << 20
)

// Options configures a backend. Secrets come from PINFile or PINEnv, never
// from a key URI or a flag value.
type Options struct {
	// ModulePath is the absolute path of the PKCS#11 module, e.g.
	// /usr/lib/softhsm/libsofthsm2.so.
	ModulePath string
	// TokenLabel selects the token (slot) whose keys this backend serves;
	// key URIs must name the same token.
	TokenLabel string
	// PINFile is a file holding the user PIN (one trailing newline is
	// ignored). It must not be readable by group or others.
	PINFile string
	// PINEnv is the name of an environment variable holding the user PIN,
	// used when PINFile is empty.
	PINEnv string
	// PoolSize is the number of sessions kept open; 0 means DefaultPoolSize.
	// It bounds the number of concurrent token operations of this backend.
	PoolSize int
	// MaxMessage is the largest message SignMessage accepts, in bytes;
	// 0 means DefaultMaxMessage.
	MaxMessage int64
	// Log, if set, receives one warning per recovery event (lost session,
	// re-initialized module). It never receives a PIN.
	Log *slog.Logger
	// OnRetry, if set, is called each time an operation is retried, with
	// what failed ("session lost", "device lost", "stale object handle").
	OnRetry func(failure string)
}

func (o Options) withDefaults() Options {
	if o.PoolSize == 0 {
		o.PoolSize = DefaultPoolSize
	}
	if o.MaxMessage == 0 {
		o.MaxMessage = DefaultMaxMessage
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.ModulePath == "":
		return errors.New("pkcs11: options: no module path")
	case !filepath.IsAbs(o.ModulePath):
		return fmt.Errorf("pkcs11: options: module path %q must be absolute", o.ModulePath)
	case o.TokenLabel == "":
		return errors.New("pkcs11: options: no token label")
	case o.PINFile != "" && o.PINEnv != "":
		return errors.New("pkcs11: options: set PINFile or PINEnv, not both")
	case o.PINFile == "" && o.PINEnv == "":
		return errors.New("pkcs11: options: no PIN source: set PINFile or PINEnv")
	case o.PoolSize < 0:
		return fmt.Errorf("pkcs11: options: pool size %d is negative", o.PoolSize)
	case o.MaxMessage < 0:
		return fmt.Errorf("pkcs11: options: max message %d is negative", o.MaxMessage)
	}
	return nil
}

// readPIN returns the user PIN from the configured file or environment
// variable. Errors name the source, never its content.
func (o Options) readPIN() (string, error) {
	if o.PINEnv != "" {
		pin, ok := os.LookupEnv(o.PINEnv)
		if !ok || pin == "" {
			return "", fmt.Errorf("pkcs11: PIN: environment variable %s is unset or empty: %w", o.PINEnv, kms.ErrPermission)
		}
		return pin, nil
	}
	fi, err := os.Stat(o.PINFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("pkcs11: PIN file %s does not exist: %w", o.PINFile, kms.ErrPermission)
		}
		return "", fmt.Errorf("pkcs11: PIN file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("pkcs11: PIN file %s has mode %04o: %w: make it readable by its owner only (chmod 600)", o.PINFile, fi.Mode().Perm(), kms.ErrPermission)
	}
	data, err := os.ReadFile(o.PINFile)
	if err != nil {
		return "", fmt.Errorf("pkcs11: read PIN file %s: %w", o.PINFile, err)
	}
	pin := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if pin == "" {
		return "", fmt.Errorf("pkcs11: PIN file %s is empty: %w", o.PINFile, kms.ErrPermission)
	}
	return pin, nil
}

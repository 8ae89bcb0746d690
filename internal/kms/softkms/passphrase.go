package softkms

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/appsign/signer/internal/kms"
)

// passphrase returns the configured passphrase, or nil when none is
// configured. Errors name the source, never its content. The caller
// clears the returned slice.
func (b *Backend) passphrase() ([]byte, error) {
	o := b.opts
	switch {
	case o.PassphraseFile != "" && o.PassphraseEnv != "":
		return nil, errors.New("softkms: passphrase: set PassphraseFile or PassphraseEnv, not both")
	case o.PassphraseEnv != "":
		v, ok := os.LookupEnv(o.PassphraseEnv)
		if !ok || v == "" {
			return nil, fmt.Errorf("softkms: passphrase: environment variable %s is unset or empty: %w", o.PassphraseEnv, kms.ErrPermission)
		}
		return []byte(v), nil
	case o.PassphraseFile != "":
		return readPassphraseFile(o.PassphraseFile)
	}
	return nil, nil
}

func readPassphraseFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("softkms: passphrase file %s does not exist: %w", path, kms.ErrPermission)
		}
		return nil, fmt.Errorf("softkms: passphrase file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("softkms: passphrase file %s has mode %04o: %w: make it readable by its owner only (chmod 600)", path, fi.Mode().Perm(), kms.ErrPermission)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("softkms: read passphrase file %s: %w", path, err)
	}
	pass := bytes.TrimSuffix(bytes.TrimSuffix(data, []byte("\n")), []byte("\r"))
	if len(pass) == 0 {
		return nil, fmt.Errorf("softkms: passphrase file %s is empty: %w", path, kms.ErrPermission)
	}
	return pass, nil
}

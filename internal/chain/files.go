package chain

import (
	"fmt"
	"io"
	"os"
)

// maxKeyFileSize bounds what is read from a key file; a PKCS#8 Ed25519 PEM
// is about 120 bytes.
const maxKeyFileSize = 16 << 10

// ReadKeyFile returns the content of a private-key file (for
// ParsePrivateKeyPEM, or a key backend's own format), refusing one that
// group or others may read or write (ErrInsecureKeyFile), one that is not a
// regular file, and one over 16 KiB (ErrInvalidKey). A missing file gives
// an error wrapping fs.ErrNotExist. Error texts never include the content.
func ReadKeyFile(path string) ([]byte, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("chain: read key file: %w", err)
	}
	return b, nil
}

// readKeyFile reads a private-key file, refusing one that group or others
// may read or write. The mode is taken from the opened file, not the path,
// so a swap between check and read is not possible.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrInsecureKeyFile, path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o, want 0600", ErrInsecureKeyFile, path, perm)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeyFileSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrInvalidKey, path, maxKeyFileSize)
	}
	return b, nil
}

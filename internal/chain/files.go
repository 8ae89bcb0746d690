package chain

import (
	"fmt"
	"io"
	"os"
)

// maxKeyFileSize bounds what is read from a key file; a PKCS#8 Ed25519 PEM
// is about 120 bytes.
const maxKeyFileSize = 16 << 10

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

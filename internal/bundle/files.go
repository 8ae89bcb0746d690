package bundle

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/appsign/signer/internal/revocation"
)

// maxFileSize bounds every file read from a bundle or trust store but the
// revocation list, which revocation.MaxSize bounds: an exact list names
// every signature a revoked key made before its revocation.
const maxFileSize = 16 << 20

// fileLimit is the size limit of a bundle or trust store file called name.
func fileLimit(name string) int64 {
	if name == RevocationListFile {
		return revocation.MaxSize
	}
	return maxFileSize
}

// readRegular reads dir/name, refusing anything but a regular file (a
// symlink could point anywhere) and files over fileLimit(name). The file
// is checked after it is opened, so it cannot be swapped in between.
func readRegular(dir, name string) ([]byte, error) {
	return readRegularUpTo(dir, name, fileLimit(name))
}

// readRegularUpTo is readRegular with the limit given: a file of limit
// bytes is read, one byte more is refused.
func readRegularUpTo(dir, name string, limit int64) ([]byte, error) {
	path := filepath.Join(dir, name)
	before, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", before.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	after, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !os.SameFile(before, after) {
		return nil, errors.New("file changed while being opened")
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

package anchor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/appsign/signer/internal/atomicfile"
)

// Dir is a Store in a local directory, typically a mount of storage the
// database administrator has no access to. Objects are files written
// atomically (internal/atomicfile: temporary file, fsync, rename or link,
// directory fsync), readable by all (0644): checkpoints are public.
type Dir struct {
	root string
}

// NewDir returns the Store in directory root, creating it (0755) if needed.
func NewDir(root string) (*Dir, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("anchor: directory %q is not an absolute path", root)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("anchor: %w", err)
	}
	return &Dir{root: root}, nil
}

// Root returns the directory.
func (d *Dir) Root() string { return d.root }

// file maps an object name to its path, refusing names that leave root.
func (d *Dir) file(name string) (string, error) {
	if name == "" || !fs.ValidPath(name) || strings.Contains(name, `\`) {
		return "", fmt.Errorf("anchor: invalid object name %q", name)
	}
	return filepath.Join(d.root, filepath.FromSlash(name)), nil
}

// Get implements Store.
func (d *Dir) Get(_ context.Context, name string) ([]byte, error) {
	p, err := d.file(name)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, p)
	}
	if err != nil {
		return nil, fmt.Errorf("anchor: %w", err)
	}
	return b, nil
}

// Create implements Store.
func (d *Dir) Create(_ context.Context, name string, data []byte) error {
	p, err := d.mkdirFor(name)
	if err != nil {
		return err
	}
	err = atomicfile.Create(p, data, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s", ErrExists, p)
	}
	if err != nil {
		return fmt.Errorf("anchor: %w", err)
	}
	return nil
}

// Put implements Store.
func (d *Dir) Put(_ context.Context, name string, data []byte) error {
	p, err := d.mkdirFor(name)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(p, data, 0o644); err != nil {
		return fmt.Errorf("anchor: %w", err)
	}
	return nil
}

func (d *Dir) mkdirFor(name string) (string, error) {
	p, err := d.file(name)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("anchor: %w", err)
	}
	return p, nil
}

// List implements Store. Temporary files of writes in progress (names
// starting with a dot) are not objects.
func (d *Dir) List(_ context.Context, prefix string) ([]string, error) {
	dir, base := path.Split(prefix)
	full := d.root
	if dir != "" {
		p, err := d.file(strings.TrimSuffix(dir, "/"))
		if err != nil {
			return nil, err
		}
		full = p
	}
	entries, err := os.ReadDir(full)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("anchor: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") && strings.HasPrefix(e.Name(), base) {
			out = append(out, dir+e.Name())
		}
	}
	return out, nil
}

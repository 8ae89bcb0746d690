package bundle

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestFileLimits pins the production limits: 16 MiB for every bundle or
// trust store file, 64 MiB for the revocation list (an exact list names
// every pre-revocation signature of a revoked key).
func TestFileLimits(t *testing.T) {
	for name, want := range map[string]int64{
		RevocationListFile: 64 << 20,
		ManifestFile:       16 << 20,
		VersionFile:        16 << 20,
		"root-ca.pem":      16 << 20,
	} {
		if got := fileLimit(name); got != want {
			t.Errorf("fileLimit(%q) = %d, want %d", name, got, want)
		}
	}
}

// TestReadRegularLimitIsExact: a file of exactly the limit is read whole,
// one byte more is refused (not cut short), at a small limit.
func TestReadRegularLimitIsExact(t *testing.T) {
	dir := t.TempDir()
	const limit = 100
	data := bytes.Repeat([]byte{'x'}, limit+1)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "exact"), data[:limit], 0o644))
	must(os.WriteFile(filepath.Join(dir, "over"), data, 0o644))
	if b, err := readRegularUpTo(dir, "exact", limit); err != nil || !bytes.Equal(b, data[:limit]) {
		t.Errorf("a file of %d bytes at limit %d: %d bytes read, %v; want it whole", limit, limit, len(b), err)
	}
	if b, err := readRegularUpTo(dir, "over", limit); err == nil {
		t.Errorf("a file of %d bytes at limit %d: %d bytes read, want it refused", limit+1, limit, len(b))
	}
}

// TestLockReportsFailure: making a folder read-only again after an install
// reports its failure (here: the folder is gone) unless the install had
// already failed, whose error is kept.
func TestLockReportsFailure(t *testing.T) {
	gone := filepath.Join(t.TempDir(), "gone")
	var err error
	lock(gone, &err)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lock of a missing folder after a good install: %v, want it reported", err)
	}
	first := errors.New("the install's own failure")
	err = first
	lock(gone, &err)
	if err != first {
		t.Errorf("lock of a missing folder after a failed install: %v, want %v kept", err, first)
	}
	dir := t.TempDir()
	err = nil
	lock(dir, &err)
	fi, serr := os.Stat(dir)
	if err != nil || serr != nil || fi.Mode().Perm() != StoreDirMode {
		t.Errorf("lock: %v (stat: %v); want no error and mode %v", err, serr, StoreDirMode)
	}
}

// TestWriteDirAtomicRefusesExistingFolder: when the folder appeared after
// Export checked for it (another export won the race), the rename fails:
// the error is returned, the other folder is left as it was and no
// temporary folder is left behind.
func TestWriteDirAtomicRefusesExistingFolder(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "bundle")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "theirs"), []byte("another export"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeDirAtomic(t.Context(), dir, map[string][]byte{"ours": []byte("this export")}); err == nil {
		t.Error("writeDirAtomic over an existing, non-empty folder succeeded")
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "bundle" {
		t.Errorf("left in the parent folder: %v, want only the other export's folder", entries)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 || entries[0].Name() != "theirs" {
		t.Errorf("the other export's folder now holds %v (%v)", entries, err)
	}
}

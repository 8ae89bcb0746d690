package server

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"io"
	"os"
	"testing"
)

// TestSpoolMovesToFile: small archives stay in memory, larger ones move to
// an unlinked file with every byte and the same digests, and nothing is
// left in the spool directory either way.
func TestSpoolMovesToFile(t *testing.T) {
	for _, size := range []int{1, spoolMemoryLimit, spoolMemoryLimit + 1, 3*spoolMemoryLimit + 17} {
		dir := t.TempDir()
		data := make([]byte, size)
		rand.Read(data)
		sp := newSpool(dir, 1<<30)
		// Chunks as gRPC delivers them, crossing the limit mid-chunk.
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 5000)
			if _, err := sp.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if want := size <= spoolMemoryLimit; sp.inMemory() != want {
			t.Errorf("size %d: in memory = %v, want %v", size, sp.inMemory(), want)
		}
		got, err := io.ReadAll(io.NewSectionReader(sp.ReaderAt(), 0, sp.size))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: spooled bytes differ (err %v)", size, err)
		}
		if sum := sha512.Sum512(data); !bytes.Equal(sp.sha512.Sum(nil), sum[:]) {
			t.Errorf("size %d: SHA-512 differs", size)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("size %d: %d files left in the spool directory", size, len(entries))
		}
		if err := sp.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestSpoolRefusesOverMax(t *testing.T) {
	sp := newSpool(t.TempDir(), 10)
	defer sp.Close()
	if _, err := sp.Write(make([]byte, 11)); !errors.As(err, new(errTooLarge)) {
		t.Fatalf("err = %v, want errTooLarge", err)
	}
}

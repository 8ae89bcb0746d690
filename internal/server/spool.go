package server

import (
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/appsign/signer/internal/statement"
)

// spool holds one uploaded archive in a private temp file while it is
// signed, computing its digests on the way in. The file is unlinked as soon
// as it is created, so nothing is left on disk even if the process dies;
// the open descriptor keeps the data until Close.
type spool struct {
	f      *os.File
	size   int64
	max    int64
	sha256 hash.Hash
	sha512 hash.Hash
}

func newSpool(dir string, max int64) (*spool, error) {
	f, err := os.CreateTemp(dir, "archive-*.spool")
	if err != nil {
		return nil, fmt.Errorf("spool: create: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: unlink: %w", err)
	}
	return &spool{f: f, max: max, sha256: sha256.New(), sha512: sha512.New()}, nil
}

// errTooLarge reports an archive over the configured maximum.
type errTooLarge struct{ max int64 }

func (e errTooLarge) Error() string {
	return fmt.Sprintf("archive exceeds the maximum size of %d bytes", e.max)
}

func (s *spool) Write(p []byte) (int, error) {
	if s.size+int64(len(p)) > s.max {
		return 0, errTooLarge{s.max}
	}
	n, err := s.f.Write(p)
	s.size += int64(n)
	s.sha256.Write(p[:n])
	s.sha512.Write(p[:n])
	if err != nil {
		return n, fmt.Errorf("spool: write: %w", err)
	}
	return n, nil
}

// reservedPrefix reports whether the archive starts with the prefix of
// digest statements, which no archive signature may cover.
func (s *spool) reservedPrefix() bool {
	head := make([]byte, len(statement.ReservedPrefix))
	n, _ := s.f.ReadAt(head, 0)
	return statement.HasReservedPrefix(head[:n]) && n == len(head)
}

// ReaderAt returns the spooled bytes for the signing passes.
func (s *spool) ReaderAt() io.ReaderAt { return s.f }

func (s *spool) Close() error { return s.f.Close() }

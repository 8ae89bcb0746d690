package server

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"syscall"

	"github.com/appsign/signer/internal/statement"
)

// spoolMemoryLimit is the largest archive kept in memory while it is
// signed. Smaller archives (most review-pipeline uploads of small apps,
// backfills of small versions) skip the temp file: creating and unlinking
// one cost a quarter of the CPU of a 1 KB signature (docs/BENCHMARKS.md).
// Memory stays bounded by this limit times the in-flight request limit.
const spoolMemoryLimit = 64 << 10

// spool holds one uploaded archive while it is signed, computing its
// digests on the way in. Up to spoolMemoryLimit bytes it is a memory
// buffer; past that everything moves to a private temp file that is
// unlinked as soon as it is created, so nothing is left on disk even if
// the process dies; the open descriptor keeps the data until Close.
type spool struct {
	dir    string
	mem    []byte
	f      *os.File
	size   int64
	max    int64
	sha256 hash.Hash
	sha512 hash.Hash
}

func newSpool(dir string, max int64) *spool {
	return &spool{dir: dir, max: max, sha256: sha256.New(), sha512: sha512.New()}
}

// toFile moves the spooled bytes to an unlinked temp file.
func (s *spool) toFile() error {
	f, err := os.CreateTemp(s.dir, "archive-*.spool")
	if err != nil {
		return spoolErr("create", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return fmt.Errorf("spool: unlink: %w", err)
	}
	if _, err := f.Write(s.mem); err != nil {
		f.Close()
		return spoolErr("write", err)
	}
	s.f, s.mem = f, nil
	return nil
}

// ErrSpoolFull means the spool directory's file system is full (or over
// quota): the archive could not be taken in, nothing was signed, and the
// call may succeed later or on another replica.
var ErrSpoolFull = errors.New("server: spool directory full")

// spoolErr wraps a spool file error, marking a full disk with ErrSpoolFull.
func spoolErr(what string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("spool: %s: %w: %w", what, ErrSpoolFull, err)
	}
	return fmt.Errorf("spool: %s: %w", what, err)
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
	if s.f == nil && s.size+int64(len(p)) > spoolMemoryLimit {
		if err := s.toFile(); err != nil {
			return 0, err
		}
	}
	var (
		n   = len(p)
		err error
	)
	if s.f == nil {
		s.mem = append(s.mem, p...)
	} else {
		n, err = s.f.Write(p)
	}
	s.size += int64(n)
	s.sha256.Write(p[:n])
	s.sha512.Write(p[:n])
	if err != nil {
		return n, spoolErr("write", err)
	}
	return n, nil
}

// inMemory reports whether the archive is held in memory.
func (s *spool) inMemory() bool { return s.f == nil }

// reservedPrefix reports whether the archive starts with the prefix of
// digest statements, which no archive signature may cover.
func (s *spool) reservedPrefix() bool {
	head := make([]byte, len(statement.ReservedPrefix))
	n, _ := s.ReaderAt().ReadAt(head, 0)
	return statement.HasReservedPrefix(head[:n]) && n == len(head)
}

// ReaderAt returns the spooled bytes for the signing passes.
func (s *spool) ReaderAt() io.ReaderAt {
	if s.f == nil {
		return bytes.NewReader(s.mem)
	}
	return s.f
}

// bytes returns the whole archive for a backend that signs messages in one
// piece (it checked the size against its limit first).
func (s *spool) bytes() ([]byte, error) {
	if s.f == nil {
		return s.mem, nil
	}
	buf := make([]byte, s.size)
	if _, err := s.f.ReadAt(buf, 0); err != nil {
		return nil, fmt.Errorf("spool: read: %w", err)
	}
	return buf, nil
}

func (s *spool) Close() error {
	s.mem = nil
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}

package eddsa

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"strings"
	"testing"
)

// stallingReaderAt serves msg, but answers the first stalls reads of each
// offset with (0, nil), as a slow network file system may.
func stallingReaderAt(msg []byte, stalls int) funcReaderAt {
	seen := map[int64]int{}
	return func(p []byte, off int64) (int, error) {
		if seen[off]++; seen[off] <= stalls {
			return 0, nil
		}
		return bytes.NewReader(msg).ReadAt(p[:min(len(p), 7)], off)
	}
}

// stallingReader serves msg 7 bytes at a time, each after stalls reads
// returning (0, nil).
func stallingReader(msg []byte, stalls int) funcReader {
	src, n := bytes.NewReader(msg), 0
	return func(p []byte) (int, error) {
		if n++; n <= stalls {
			return 0, nil
		}
		n = 0
		return src.Read(p[:min(len(p), 7)])
	}
}

// TestZeroReadLimitIsExact: Sign and Verify tolerate up to maxZeroReads−1
// successive reads that return nothing, counted afresh after every read
// that makes progress, and give up with io.ErrNoProgress at maxZeroReads.
func TestZeroReadLimitIsExact(t *testing.T) {
	r := newRand(31)
	pub, priv := randKey(r)
	msg := randBytes(r, 50) // 8 short reads: the stalls add up to far more than the limit
	sig := ed25519.Sign(priv, msg)
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		stalls int
		want   error
	}{
		{"one below the limit before every read", maxZeroReads - 1, nil},
		{"at the limit", maxZeroReads, io.ErrNoProgress},
	} {
		t.Run("Sign "+tt.name, func(t *testing.T) {
			got, err := Sign(ctx, priv, stallingReaderAt(msg, tt.stalls), int64(len(msg)))
			if !errors.Is(err, tt.want) || (err == nil && !bytes.Equal(got, sig)) {
				t.Fatalf("Sign = %x, %v; want %v", got, err, tt.want)
			}
		})
		t.Run("Verify "+tt.name, func(t *testing.T) {
			if err := Verify(ctx, pub, stallingReader(msg, tt.stalls), sig); !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestSignReadErrorsNameTheOffset: a failed read names the offset where the
// message stopped, counting the bytes the same read call had already
// delivered, so an operator can tell a truncated upload from a bad disk.
func TestSignReadErrorsNameTheOffset(t *testing.T) {
	r := newRand(32)
	_, priv := randKey(r)
	msg := randBytes(r, 100)
	// Reads return at most 10 bytes; from byte 30 on, end is returned.
	short := func(end func() (int, error)) funcReaderAt {
		return func(p []byte, off int64) (int, error) {
			if off >= 30 {
				return end()
			}
			return copy(p[:min(len(p), 10)], msg[off:]), nil
		}
	}
	tests := []struct {
		name string
		end  func() (int, error)
		want error
		text string
	}{
		{"message ends early", func() (int, error) { return 0, io.EOF }, io.ErrUnexpectedEOF, "message is 30 bytes, shorter than size 100"},
		{"read fails", func() (int, error) { return 0, errBoom }, errBoom, "at offset 30:"},
		{"reads stall", func() (int, error) { return 0, nil }, io.ErrNoProgress, "at offset 30:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Sign(context.Background(), priv, short(tt.end), int64(len(msg)))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("Sign = %v, want %v saying %q", err, tt.want, tt.text)
			}
		})
	}
}

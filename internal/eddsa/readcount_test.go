package eddsa

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestSignRejectsImpossibleReadCounts: a ReaderAt (a storage driver, a
// network file system) that reports more bytes than it was asked for, or a
// negative count, would have the signer hash bytes that were never read;
// Sign fails instead, naming the offset and the count.
func TestSignRejectsImpossibleReadCounts(t *testing.T) {
	r := newRand(9)
	_, priv := randKey(r)
	msg := randBytes(r, 2*bufSize+7)
	tests := []struct {
		name  string
		count func(asked int) int
		want  string
	}{
		{"one byte more than asked", func(asked int) int { return asked + 1 }, "invalid read count"},
		{"negative count", func(int) int { return -1 }, "invalid read count -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The second buffer comes in two reads, and the second read lies.
			const half = bufSize / 2
			ra := funcReaderAt(func(p []byte, off int64) (int, error) {
				switch off {
				case bufSize:
					return copy(p[:half], msg[off:]), nil
				case bufSize + half:
					_, err := bytes.NewReader(msg).ReadAt(p, off)
					return tt.count(len(p)), err
				}
				return bytes.NewReader(msg).ReadAt(p, off)
			})
			sig, err := Sign(context.Background(), priv, ra, int64(len(msg)))
			if err == nil || sig != nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Sign = %x, %v; want an error saying %q", sig, err, tt.want)
			}
			if at := fmt.Sprintf("offset %d", bufSize+half); !strings.Contains(err.Error(), at) {
				t.Errorf("error %q does not name the %s of the bad read", err, at)
			}
		})
	}
}

package ctxio_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/appsign/signer/internal/ctxio"
)

func TestCopyCopiesEverything(t *testing.T) {
	src := bytes.Repeat([]byte("0123456789abcdef"), ctxio.BufferSize/16*3+7) // over three buffers
	var dst bytes.Buffer
	n, err := ctxio.Copy(t.Context(), &dst, bytes.NewReader(src))
	if err != nil || n != int64(len(src)) || !bytes.Equal(dst.Bytes(), src) {
		t.Fatalf("Copy = %d, %v; want %d bytes copied unchanged", n, err, len(src))
	}
}

// cancelAfter cancels its context once it has served n reads.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	c.n--
	if c.n == 0 {
		c.cancel()
	}
	return c.r.Read(p)
}

// TestCopyStopsWhenCancelled: the copy ends at the first read after the
// context is cancelled, with the context's error, not at the end of the
// stream.
func TestCopyStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	src := &cancelAfter{r: bytes.NewReader(make([]byte, 10*ctxio.BufferSize)), n: 2, cancel: cancel}
	n, err := ctxio.Copy(ctx, io.Discard, src)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Copy error %v, want context.Canceled", err)
	}
	if n != 2*ctxio.BufferSize {
		t.Fatalf("Copy read %d bytes, want the %d of the two reads before cancellation", n, 2*ctxio.BufferSize)
	}
}

func TestCopyDoesNotStartWhenDone(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	n, err := ctxio.Copy(ctx, io.Discard, bytes.NewReader([]byte("archive")))
	if n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Copy = %d, %v; want 0, context.Canceled", n, err)
	}
}

package ctxio

import (
	"context"
	"io"
)

// BufferSize is the chunk an archive is streamed through: the copy holds
// one such buffer, never the archive.
const BufferSize = 256 << 10

// Copy copies src to dst as io.Copy does, through one BufferSize buffer,
// checking ctx before every read of src. Once ctx is done it stops and
// returns the bytes copied so far and ctx.Err().
func Copy(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	// Only Writer is promoted: a dst with ReadFrom (io.Discard, *os.File)
	// would read src through buffers of its own size.
	return io.CopyBuffer(struct{ io.Writer }{dst}, &reader{ctx: ctx, r: src}, make([]byte, BufferSize))
}

// reader makes every Read fail once ctx is done.
type reader struct {
	ctx context.Context
	r   io.Reader
}

func (r *reader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

package limits

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
)

// withDeadline gives ctx the method's default deadline when it has none,
// and the maximum when its own is later. It reports whether it set one: only
// then may the deadline be earlier than the one the transport enforces.
func (l *Limiter) withDeadline(ctx context.Context, method string) (context.Context, context.CancelFunc, bool) {
	t := l.cfg.timeout(method)
	dl, ok := ctx.Deadline()
	switch {
	case !ok:
		ctx, cancel := context.WithTimeout(ctx, t.Default)
		return ctx, cancel, true
	case time.Until(dl) > t.Max:
		ctx, cancel := context.WithTimeout(ctx, t.Max)
		return ctx, cancel, true
	}
	return ctx, func() {}, false
}

// deadlineStream enforces a deadline the interceptor set on a stream's
// receives. gRPC unblocks RecvMsg only when the deadline the client sent
// expires, not when a context derived on the server does; so a receive
// runs in the background and is abandoned when ctx ends. After that, the
// stream answers every receive with the deadline error and never touches
// the underlying stream again; the abandoned receive returns when the
// handler has returned and gRPC closes the stream.
type deadlineStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *deadlineStream) Context() context.Context { return s.ctx }

func (s *deadlineStream) RecvMsg(m any) error {
	if err := s.ctx.Err(); err != nil {
		return fmt.Errorf("limits: receive: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServerStream.RecvMsg(m) }()
	select {
	case err := <-done:
		return err
	case <-s.ctx.Done():
		// The context error, which internal/server maps to
		// DeadlineExceeded (or Canceled) as it does every other.
		return fmt.Errorf("limits: receive: %w", s.ctx.Err())
	}
}

package ctxio

import (
	"context"
	"time"
)

// Sleep waits for d or until ctx is done, whichever comes first. It returns
// nil after the full wait and ctx.Err() if ctx ended it.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

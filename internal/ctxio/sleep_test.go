package ctxio_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/appsign/signer/internal/ctxio"
)

func TestSleep(t *testing.T) {
	t.Run("full wait returns nil", func(t *testing.T) {
		if err := ctxio.Sleep(t.Context(), time.Nanosecond); err != nil {
			t.Fatalf("Sleep = %v, want nil", err)
		}
	})
	t.Run("ended context returns its error", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		// An hour: only the cancelled context can end this wait.
		if err := ctxio.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
			t.Fatalf("Sleep = %v, want context.Canceled", err)
		}
	})
}

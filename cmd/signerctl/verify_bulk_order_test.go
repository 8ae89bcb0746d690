package main

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// orderItems are n items named by their index.
func orderItems(n int) []bulkItem {
	items := make([]bulkItem, n)
	for i := range items {
		items[i].archive = strconv.Itoa(i)
	}
	return items
}

// TestVerifyInOrderWindow: while the first item is still being verified,
// the other workers verify exactly the rest of the window (bulkWindow per
// worker, first item included) and no further, so the reports waiting for
// it stay bounded; once it is done every item is emitted, in input order.
// A run cancelled while it waits ends with the context's error after
// emitting what was verified, never as a complete run. synctest.Wait
// observes "everything is blocked", so nothing here depends on timing.
func TestVerifyInOrderWindow(t *testing.T) {
	const workers = 2
	window := bulkWindow * workers
	for _, cancelled := range []bool{false, true} {
		name := "completes"
		if cancelled {
			name = "cancelled"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				items := orderItems(window + 50)
				release := make(chan struct{})
				var verified atomic.Int64
				verify := func(_ context.Context, it bulkItem) *verifyReport {
					if it.archive == "0" {
						<-release
					}
					verified.Add(1)
					return &verifyReport{}
				}
				var emitted []string
				emit := func(it bulkItem, _ *verifyReport) error {
					emitted = append(emitted, it.archive)
					return nil
				}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				done := make(chan error, 1)
				go func() { done <- verifyInOrder(ctx, items, workers, verify, emit) }()
				synctest.Wait()
				if got := verified.Load(); got != int64(window-1) {
					t.Fatalf("%d items verified behind the held first one, want %d (the window of %d less the first)", got, window-1, window)
				}
				if len(emitted) != 0 {
					t.Fatalf("%d items emitted before the first was verified", len(emitted))
				}
				want := len(items)
				if cancelled {
					cancel()
					synctest.Wait()
					want = window
				}
				close(release)
				err := <-done
				if cancelled != errors.Is(err, context.Canceled) {
					t.Fatalf("verifyInOrder: %v (cancelled: %v)", err, cancelled)
				}
				if len(emitted) != want {
					t.Fatalf("%d items emitted, want %d", len(emitted), want)
				}
				for i, a := range emitted {
					if a != strconv.Itoa(i) {
						t.Fatalf("emitted[%d] = %s: not in input order", i, a)
					}
				}
			})
		})
	}
}

// TestVerifyInOrderEmitError: the first error emit returns ends the run
// with that error, and emit is not called again.
func TestVerifyInOrderEmitError(t *testing.T) {
	items := orderItems(40)
	errFull := errors.New("disk full")
	calls := 0
	emit := func(it bulkItem, _ *verifyReport) error {
		calls++
		if it.archive == "5" {
			return errFull
		}
		return nil
	}
	verify := func(context.Context, bulkItem) *verifyReport { return &verifyReport{} }
	if err := verifyInOrder(t.Context(), items, 3, verify, emit); !errors.Is(err, errFull) || calls != 6 {
		t.Fatalf("verifyInOrder: %v after %d emits; want %v after 6", err, calls, errFull)
	}
}

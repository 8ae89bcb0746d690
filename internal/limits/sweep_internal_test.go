package limits

import (
	"context"
	"testing"
	"time"
)

// TestSweepDropsIdleCallers: state of callers that went idle is dropped,
// so the map does not grow with every identity ever seen; callers with
// calls in flight or spent tokens are kept.
func TestSweepDropsIdleCallers(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	key := func(ctx context.Context) string { return ctx.Value(keyCtx{}).(string) }
	l, err := New(Config{Rate: 1, Burst: 2}, key, WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	as := func(s string) context.Context { return context.WithValue(context.Background(), keyCtx{}, s) }

	rel, err := l.admit(as("busy"), "/a/b")
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"idle-1", "idle-2"} {
		r, err := l.admit(as(who), "/a/b")
		if err != nil {
			t.Fatal(err)
		}
		r()
	}
	if len(l.callers) != 3 {
		t.Fatalf("callers = %d, want 3", len(l.callers))
	}
	now = now.Add(sweepInterval)
	r, err := l.admit(as("new"), "/a/b")
	if err != nil {
		t.Fatal(err)
	}
	r()
	if _, ok := l.callers["busy"]; !ok || len(l.callers) != 2 {
		t.Fatalf("after sweep: %v, want busy and new", keys(l.callers))
	}
	rel()
	if l.inFlight.Load() != 0 {
		t.Fatalf("in flight = %d after every release", l.inFlight.Load())
	}
}

type keyCtx struct{}

func keys(m map[string]*bucket) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

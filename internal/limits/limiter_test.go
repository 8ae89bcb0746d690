package limits_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/appsign/signer/internal/limits"
	"github.com/appsign/signer/internal/server"
)

type callerKey struct{}

// as returns a context whose caller is name.
func as(name string) context.Context {
	return context.WithValue(context.Background(), callerKey{}, name)
}

func callerOf(ctx context.Context) string { s, _ := ctx.Value(callerKey{}).(string); return s }

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newLimiter(t *testing.T, cfg limits.Config, clock *fakeClock) *limits.Limiter {
	t.Helper()
	var opts []limits.Option
	if clock != nil {
		opts = append(opts, limits.WithClock(clock.Now))
	}
	l, err := limits.New(cfg, callerOf, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l
}

var unaryInfo = &grpc.UnaryServerInfo{FullMethod: "/signer.v1.LedgerService/GetEntry"}

func ok(context.Context, any) (any, error) { return "ok", nil }

func TestRateLimit(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	l := newLimiter(t, limits.Config{Rate: 2, Burst: 3}, clock)
	call := mapped(l.UnaryServerInterceptor())
	steps := []struct {
		name      string
		advance   time.Duration
		caller    string
		want      codes.Code
		wantRetry time.Duration
	}{
		{"burst 1", 0, "alice", codes.OK, 0},
		{"burst 2", 0, "alice", codes.OK, 0},
		{"burst 3", 0, "alice", codes.OK, 0},
		{"beyond the burst", 0, "alice", codes.ResourceExhausted, 500 * time.Millisecond},
		{"another caller has its own bucket", 0, "bob", codes.OK, 0},
		{"partly refilled", 250 * time.Millisecond, "alice", codes.ResourceExhausted, 250 * time.Millisecond},
		{"one token back", 250 * time.Millisecond, "alice", codes.OK, 0},
		{"spent again", 0, "alice", codes.ResourceExhausted, 500 * time.Millisecond},
		{"idle refills to the burst only", time.Hour, "alice", codes.OK, 0},
		{"refilled 2", 0, "alice", codes.OK, 0},
		{"refilled 3", 0, "alice", codes.OK, 0},
		{"capped at the burst", 0, "alice", codes.ResourceExhausted, 500 * time.Millisecond},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		_, err := call(as(s.caller), nil, unaryInfo, ok)
		if status.Code(err) != s.want {
			t.Fatalf("%s: %v, want %v", s.name, err, s.want)
		}
		if s.want == codes.OK {
			continue
		}
		if d, has := limits.RetryDelay(err); !has || d != s.wantRetry {
			t.Fatalf("%s: retry hint %v (present %v), want %v", s.name, d, has, s.wantRetry)
		}
	}
}

// blockingHandler holds every call it gets until release is closed, and
// records how many ran at once.
type blockingHandler struct {
	release chan struct{}
	entered chan struct{}
	active  atomic.Int64
	peak    atomic.Int64
}

func newBlocking(n int) *blockingHandler {
	return &blockingHandler{release: make(chan struct{}), entered: make(chan struct{}, n)}
}

func (h *blockingHandler) handle(ctx context.Context, _ any) (any, error) {
	n := h.active.Add(1)
	defer h.active.Add(-1)
	for {
		p := h.peak.Load()
		if n <= p || h.peak.CompareAndSwap(p, n) {
			break
		}
	}
	h.entered <- struct{}{}
	select {
	case <-h.release:
		return "done", nil
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

func TestConcurrencyCapUnder50Goroutines(t *testing.T) {
	const callers, capacity = 50, 5
	l := newLimiter(t, limits.Config{Rate: 1e6, Burst: 1000, MaxConcurrentPerIdentity: capacity, MaxInFlight: 100}, nil)
	call := mapped(l.UnaryServerInterceptor())
	h := newBlocking(callers)

	codesSeen := make(chan codes.Code, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			_, err := call(as("pipeline"), nil, unaryInfo, h.handle)
			codesSeen <- status.Code(err)
		})
	}
	// The first calls admitted hold their slots until release; every other
	// call must be refused at once rather than wait.
	for range capacity {
		<-h.entered
	}
	refused := 0
	for range callers - capacity {
		if c := <-codesSeen; c != codes.ResourceExhausted {
			t.Fatalf("call beyond the cap: %v, want ResourceExhausted", c)
		}
		refused++
	}
	close(h.release)
	wg.Wait()
	close(codesSeen)
	for c := range codesSeen {
		if c != codes.OK {
			t.Fatalf("admitted call: %v", c)
		}
	}
	if p := h.peak.Load(); p != capacity {
		t.Fatalf("peak concurrency %d, want %d", p, capacity)
	}
	if refused != callers-capacity {
		t.Fatalf("refused %d, want %d", refused, callers-capacity)
	}
	// Slots are returned: the caller may run a full set again.
	h2 := newBlocking(capacity)
	close(h2.release)
	for i := range capacity {
		if _, err := call(as("pipeline"), nil, unaryInfo, h2.handle); err != nil {
			t.Fatalf("call %d after release: %v", i, err)
		}
	}
}

func TestGlobalInFlightCap(t *testing.T) {
	l := newLimiter(t, limits.Config{MaxConcurrentPerIdentity: 1, MaxInFlight: 2}, nil)
	call := mapped(l.UnaryServerInterceptor())
	h := newBlocking(2)
	var wg sync.WaitGroup
	for _, who := range []string{"a", "b"} {
		wg.Go(func() {
			if _, err := call(as(who), nil, unaryInfo, h.handle); err != nil {
				t.Errorf("%s: %v", who, err)
			}
		})
	}
	<-h.entered
	<-h.entered
	_, err := call(as("c"), nil, unaryInfo, ok)
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("third caller on a full server: %v, want Unavailable", err)
	}
	if _, has := limits.RetryDelay(err); !has {
		t.Fatalf("Unavailable without a retry hint: %v", err)
	}
	close(h.release)
	wg.Wait()
	if _, err := call(as("c"), nil, unaryInfo, ok); err != nil {
		t.Fatalf("after the load: %v", err)
	}
}

func TestUnaryDeadlines(t *testing.T) {
	l := newLimiter(t, limits.Config{
		DefaultTimeout: time.Minute,
		MaxTimeout:     5 * time.Minute,
		Methods:        map[string]limits.Timeout{"/x.Slow/Call": {Default: time.Hour, Max: 2 * time.Hour}},
	}, nil)
	call := mapped(l.UnaryServerInterceptor())
	tests := []struct {
		name     string
		method   string
		deadline time.Duration // caller's deadline from now; 0 = none
		wantMin  time.Duration
		wantMax  time.Duration
	}{
		{"none: default applied", "/x.Fast/Call", 0, 50 * time.Second, time.Minute},
		{"shorter: kept", "/x.Fast/Call", 10 * time.Second, 5 * time.Second, 10 * time.Second},
		{"longer than max: clamped", "/x.Fast/Call", time.Hour, 4 * time.Minute, 5 * time.Minute},
		{"per-method default", "/x.Slow/Call", 0, 59 * time.Minute, time.Hour},
		{"per-method max", "/x.Slow/Call", 24 * time.Hour, 119 * time.Minute, 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := as("alice")
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			var left time.Duration
			_, err := call(ctx, nil, &grpc.UnaryServerInfo{FullMethod: tt.method}, func(ctx context.Context, _ any) (any, error) {
				dl, ok := ctx.Deadline()
				if !ok {
					t.Fatal("handler context has no deadline")
				}
				left = time.Until(dl)
				return nil, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if left <= tt.wantMin || left > tt.wantMax {
				t.Fatalf("deadline in %v, want in (%v, %v]", left, tt.wantMin, tt.wantMax)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  limits.Config
		ok   bool
	}{
		{"zero value takes defaults", limits.Config{}, true},
		{"negative rate", limits.Config{Rate: -1}, false},
		{"per-identity above global", limits.Config{MaxConcurrentPerIdentity: 10, MaxInFlight: 5}, false},
		{"default above max", limits.Config{DefaultTimeout: time.Hour, MaxTimeout: time.Minute}, false},
		{"bad method timeout", limits.Config{Methods: map[string]limits.Timeout{"/a/b": {Default: time.Minute}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := limits.New(tt.cfg, callerOf)
			if (err == nil) != tt.ok {
				t.Fatalf("New = %v, want ok %v", err, tt.ok)
			}
		})
	}
	l := newLimiter(t, limits.Config{Rate: 5}, nil)
	got, def := l.Config(), limits.DefaultConfig()
	if got.Rate != 5 || got.Burst != def.Burst || got.MaxInFlight != def.MaxInFlight || len(got.Methods) != len(def.Methods) {
		t.Fatalf("defaults not applied: %+v", got)
	}
	if len(l.ServerOptions()) == 0 {
		t.Fatal("no server options")
	}
}

// TestLongLivedMethods: watch streams are rate limited but hold no
// concurrency slot, so open watches cannot starve real work.
func TestLongLivedMethods(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	l := newLimiter(t, limits.Config{Rate: 1, Burst: 3, MaxConcurrentPerIdentity: 1, MaxInFlight: 1, LongLived: []string{"/x.Health/Watch"}}, clock)
	call := mapped(l.UnaryServerInterceptor())
	watch := &grpc.UnaryServerInfo{FullMethod: "/x.Health/Watch"}
	h := newBlocking(2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := call(as("lb"), nil, watch, h.handle); err != nil {
				t.Errorf("watch: %v", err)
			}
		})
	}
	<-h.entered
	<-h.entered
	if _, err := call(as("lb"), nil, unaryInfo, ok); err != nil {
		t.Fatalf("work call while two watches are open: %v", err)
	}
	if _, err := call(as("lb"), nil, watch, ok); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("fourth call within the burst of 3: %v, want ResourceExhausted", err)
	}
	close(h.release)
	wg.Wait()
}

// mapped runs in inside internal/server's interceptor, which turns the
// limiter's refusals into the statuses clients get.
func mapped(in grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	out := server.UnaryInterceptor(nil)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		return out(ctx, req, info, func(ctx context.Context, req any) (any, error) { return in(ctx, req, info, h) })
	}
}

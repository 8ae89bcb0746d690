package limits

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
)

// sweepInterval is how often, at most, state of idle identities is dropped.
const sweepInterval = time.Minute

// busyRetry is the retry hint when the server or a caller is at its
// concurrency cap: how long a call holds a slot is not known in advance.
const busyRetry = time.Second

// IdentityFunc names the caller of a request; limits are kept per name.
// auth.Caller fits.
type IdentityFunc func(ctx context.Context) string

// Limiter enforces a Config. It is safe for concurrent use.
type Limiter struct {
	cfg      Config
	identity IdentityFunc
	now      func() time.Time

	inFlight atomic.Int64

	mu        sync.Mutex
	callers   map[string]*bucket
	lastSweep time.Time
}

// bucket is one identity's token bucket and its calls in flight.
type bucket struct {
	tokens float64
	last   time.Time
	active int
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithClock makes the rate limiter read time from now (tests).
func WithClock(now func() time.Time) Option { return func(l *Limiter) { l.now = now } }

// New returns a Limiter for cfg (zero fields take DefaultConfig's values)
// that keys per-identity limits by identity.
func New(cfg Config, identity IdentityFunc, opts ...Option) (*Limiter, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if identity == nil {
		return nil, fmt.Errorf("%w: an identity function is required", ErrInvalidConfig)
	}
	l := &Limiter{cfg: cfg, identity: identity, now: time.Now, callers: map[string]*bucket{}}
	for _, o := range opts {
		o(l)
	}
	l.lastSweep = l.now()
	return l, nil
}

// Config returns the limits in force, defaults applied.
func (l *Limiter) Config() Config { return l.cfg }

// admit takes a global slot, a token and a slot of the caller (only a
// token for long-lived methods), or returns a *RetryError. It never waits. On success release must be called when the call ends.
func (l *Limiter) admit(ctx context.Context, method string) (release func(), err error) {
	if slices.Contains(l.cfg.LongLived, method) {
		return func() {}, l.takeToken(l.identity(ctx))
	}
	if n := l.inFlight.Add(1); n > int64(l.cfg.MaxInFlight) {
		l.inFlight.Add(-1)
		return nil, &RetryError{Err: ErrOverloaded, After: busyRetry, Detail: fmt.Sprintf("limit %d", l.cfg.MaxInFlight)}
	}
	key := l.identity(ctx)
	if err := l.take(key); err != nil {
		l.inFlight.Add(-1)
		return nil, err
	}
	return func() {
		l.mu.Lock()
		l.callers[key].active--
		l.mu.Unlock()
		l.inFlight.Add(-1)
	}, nil
}

// take takes a token and a concurrency slot of the caller.
func (l *Limiter) take(key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key)
	if b.active >= l.cfg.MaxConcurrentPerIdentity {
		return &RetryError{Err: ErrConcurrency, After: busyRetry, Detail: fmt.Sprintf("limit %d", l.cfg.MaxConcurrentPerIdentity)}
	}
	if err := l.spend(b); err != nil {
		return err
	}
	b.active++
	return nil
}

// takeToken takes a token of the caller only.
func (l *Limiter) takeToken(key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.spend(l.bucket(key))
}

// bucket returns the caller's bucket, refilled up to now. Called with l.mu held.
func (l *Limiter) bucket(key string) *bucket {
	now := l.now()
	l.sweep(now)
	b, ok := l.callers[key]
	if !ok {
		b = &bucket{tokens: float64(l.cfg.Burst), last: now}
		l.callers[key] = b
	}
	b.refill(now, l.cfg.Rate, l.cfg.Burst)
	return b
}

// spend takes one token or says when there will be one. Called with l.mu held.
func (l *Limiter) spend(b *bucket) error {
	if b.tokens < 1 {
		wait := time.Duration(math.Ceil((1 - b.tokens) / l.cfg.Rate * float64(time.Second)))
		return &RetryError{Err: ErrRateLimited, After: wait, Detail: fmt.Sprintf("%g calls/s", l.cfg.Rate)}
	}
	b.tokens--
	return nil
}

func (b *bucket) refill(now time.Time, rate float64, burst int) {
	if dt := now.Sub(b.last); dt > 0 {
		b.tokens = min(float64(burst), b.tokens+dt.Seconds()*rate)
		b.last = now
	}
}

// sweep drops identities with nothing in flight and a full bucket: they
// are indistinguishable from new ones. Called with l.mu held.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < sweepInterval {
		return
	}
	l.lastSweep = now
	for k, b := range l.callers {
		b.refill(now, l.cfg.Rate, l.cfg.Burst)
		if b.active == 0 && b.tokens >= float64(l.cfg.Burst) {
			delete(l.callers, k)
		}
	}
}

// RetryDelay returns the retry hint of a refusal of this package: a
// *RetryError on the server, or the RetryInfo detail of the status a
// client received.
func RetryDelay(err error) (time.Duration, bool) {
	var re *RetryError
	if errors.As(err, &re) {
		return re.After, true
	}
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration(), true
		}
	}
	return 0, false
}

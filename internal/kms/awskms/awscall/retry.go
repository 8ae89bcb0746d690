package awscall

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/appsign/signer/internal/ctxio"
	kmsapi "github.com/appsign/signer/internal/kms"
)

// Defaults of Policy.
const (
	DefaultMaxAttempts = 5
	DefaultBaseDelay   = 100 * time.Millisecond
	DefaultMaxDelay    = 2 * time.Second
)

// Policy says how calls are retried. The zero value uses the defaults.
type Policy struct {
	// MaxAttempts bounds the attempts per call, the first one included.
	MaxAttempts int
	// BaseDelay and MaxDelay shape the backoff: before retry n (n = 1, 2, ...)
	// the call waits a uniformly random time in [0, min(MaxDelay, BaseDelay·2^(n-1))]
	// ("full jitter").
	BaseDelay, MaxDelay time.Duration
	// Jitter returns a number in [0, 1); nil means math/rand/v2.
	Jitter func() float64
	// Sleep waits d or until ctx ends; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Log, if set, gets a warning for each retry (operation, attempt,
	// cause, delay).
	Log *slog.Logger
	// OnRetry, if set, is called before each retry with the operation's
	// name; backends.Hooks.OnRetry feeds it to the retry metric.
	OnRetry func(op string)
}

// NoSDKRetry is a per-call option that turns the SDK's retryer off, so that
// Do is the only retry loop.
func NoSDKRetry(o *kms.Options) {
	o.Retryer = aws.NopRetryer{}
	o.RetryMaxAttempts = 0
}

// Do runs call until it succeeds, fails with an error that retrying cannot
// fix, runs out of attempts, or would retry past ctx's deadline. Errors are
// *Error values (see Classify); an attempt cut short by the context gives
// ctx.Err() for cancellation, and for an expired deadline an *Error of kind
// kms.ErrUnavailable that also wraps context.DeadlineExceeded. call must
// pass NoSDKRetry to the SDK.
func Do[T any](ctx context.Context, p Policy, op string, call func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	p = p.withDefaults()
	var last *Error
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return zero, contextError(err, last)
		}
		out, err := call(ctx)
		if err == nil {
			return out, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return zero, contextError(cerr, last)
		}
		last = Classify(err)
		if !last.Transient {
			return zero, last
		}
		if attempt >= p.MaxAttempts {
			last.Reason += fmt.Sprintf("; gave up after %d attempts", attempt)
			return zero, last
		}
		d := p.delay(attempt)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
			last.Reason += fmt.Sprintf("; no time left for attempt %d before the deadline", attempt+1)
			return zero, last
		}
		if p.Log != nil {
			p.Log.WarnContext(ctx, "awscall: KMS call failed, retrying", "op", op, "attempt", attempt,
				"max_attempts", p.MaxAttempts, "reason", last.Reason, "delay", d.Round(time.Millisecond))
		}
		if p.OnRetry != nil {
			p.OnRetry(op)
		}
		if err := p.Sleep(ctx, d); err != nil {
			return zero, contextError(err, last)
		}
	}
}

// contextError reports a call ended by its context: plain cancellation stays
// context.Canceled (the caller gave up); an expired deadline means KMS did
// not serve the call in time.
func contextError(ctxErr error, last *Error) error {
	if errors.Is(ctxErr, context.Canceled) {
		return ctxErr
	}
	reason := "KMS did not answer before the deadline"
	if last != nil && last.Err != nil {
		return &Error{Kind: kmsapi.ErrUnavailable, Reason: reason, Transient: true, Err: fmt.Errorf("%w; last error: %w", ctxErr, last.Err)}
	}
	return &Error{Kind: kmsapi.ErrUnavailable, Reason: reason, Transient: true, Err: ctxErr}
}

// LogTo returns p logging its retries to log, unless p has a Log of its
// own: a backend passes its logger to the policy it was given.
func (p Policy) LogTo(log *slog.Logger) Policy {
	if p.Log == nil {
		p.Log = log
	}
	return p
}

func (p Policy) withDefaults() Policy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = DefaultBaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.Jitter == nil {
		p.Jitter = rand.Float64
	}
	if p.Sleep == nil {
		p.Sleep = ctxio.Sleep
	}
	return p
}

// delay is the full-jitter backoff before retry number attempt (1-based).
func (p Policy) delay(attempt int) time.Duration {
	ceil := p.MaxDelay
	if attempt-1 < 32 {
		if c := p.BaseDelay << (attempt - 1); c > 0 && c < ceil {
			ceil = c
		}
	}
	return time.Duration(p.Jitter() * float64(ceil))
}

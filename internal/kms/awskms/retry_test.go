package awskms_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	kmsapi "github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/awskms"
	"github.com/appsign/signer/internal/kms/awskms/awscall"
	"github.com/appsign/signer/internal/kmsemu"
	"github.com/appsign/signer/internal/kmsemu/emutest"
)

// sleeps records the backoff delays the retry loop asks for.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestRetries drives the backend through the emulator's fault injector and
// checks the outcome, the sentinel, and how many Sign calls KMS saw.
func TestRetries(t *testing.T) {
	srv, c := emutest.Start(t, kmsemu.Options{})
	tests := []struct {
		name      string
		policy    awscall.Policy
		timeout   time.Duration
		inject    func(keyARN string)
		wantErr   error // nil: success
		wantCalls int   // 0: at least 2
		wantText  string
		wantType  any
	}{
		{name: "two throttles then success", inject: func(string) { srv.Throttle(2) }, wantCalls: 3},
		{name: "two 500s then success", inject: func(string) { srv.FailInternal(2) }, wantCalls: 3},
		{
			name:      "attempts exhausted",
			policy:    awscall.Policy{MaxAttempts: 3},
			inject:    func(string) { srv.Throttle(-1) },
			wantErr:   kmsapi.ErrUnavailable,
			wantCalls: 3,
			wantText:  "gave up after 3 attempts",
		},
		{
			name:     "endless throttling stops at the deadline",
			policy:   awscall.Policy{MaxAttempts: 1000, BaseDelay: 10 * time.Millisecond, MaxDelay: 40 * time.Millisecond},
			timeout:  300 * time.Millisecond,
			inject:   func(string) { srv.Throttle(-1) },
			wantErr:  kmsapi.ErrUnavailable,
			wantText: "throttled",
		},
		{
			name:      "access denied is not retried",
			inject:    func(k string) { mustDo(t, srv.DenyKey(k, true)) },
			wantErr:   kmsapi.ErrPermission,
			wantCalls: 1,
			wantText:  "AccessDeniedException",
		},
		{
			name:      "disabled key is not retried",
			inject:    func(k string) { mustDo(t, srv.SetKeyEnabled(k, false)) },
			wantErr:   kmsapi.ErrKeyDisabled,
			wantCalls: 1,
			wantText:  "the KMS key is disabled",
			wantType:  new(*types.DisabledException),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.Throttle(0)
			srv.FailInternal(0)
			rec := &sleeps{}
			p := tc.policy
			if p.BaseDelay == 0 {
				p.BaseDelay, p.MaxDelay = 2*time.Millisecond, 10*time.Millisecond
			}
			p.Jitter = func() float64 { return 0.999 }
			p.Sleep = rec.sleep
			b := newBackend(t, c, awskms.Options{Retry: p})
			s, err := b.LoadSigner(t.Context(), createKey(t, b))
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			tc.inject(s.URI().Get("key-id"))
			srv.ResetCalls()
			start := time.Now()
			_, err = s.SignMessage(ctx, []byte("statement"))
			elapsed := time.Since(start)
			srv.Throttle(0)

			if tc.wantErr == nil && err != nil {
				t.Fatalf("SignMessage: %v", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("SignMessage = %v, want %v", err, tc.wantErr)
			}
			if tc.wantText != "" && !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not say %q", err, tc.wantText)
			}
			if tc.wantType != nil && !errors.As(err, tc.wantType) {
				t.Errorf("error %v does not wrap %T", err, tc.wantType)
			}
			calls := srv.Calls("Sign")
			switch {
			case tc.wantCalls > 0 && calls != tc.wantCalls:
				t.Errorf("KMS saw %d Sign calls, want %d", calls, tc.wantCalls)
			case tc.wantCalls == 0 && calls < 2:
				t.Errorf("KMS saw %d Sign calls, want retries", calls)
			}
			if len(rec.d) != calls-1 {
				t.Errorf("%d backoff sleeps for %d calls", len(rec.d), calls)
			}
			for i, d := range rec.d {
				if ceil := min(p.MaxDelay, p.BaseDelay<<i); d > ceil {
					t.Errorf("backoff %d was %v, above the full-jitter ceiling %v", i+1, d, ceil)
				}
			}
			if tc.timeout > 0 && elapsed > tc.timeout+100*time.Millisecond {
				t.Errorf("SignMessage took %v with a %v deadline", elapsed, tc.timeout)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	_, c := emutest.Start(t, kmsemu.Options{})
	b := newBackend(t, c, awskms.Options{})
	uri := kmsapi.MustParseURI("awskms:key-id=arn:aws:kms:us-east-1:111122223333:key%2F00000000-0000-4000-8000-000000000000")
	_, err := b.LoadSigner(t.Context(), uri)
	var nf *types.NotFoundException
	if !errors.Is(err, kmsapi.ErrKeyNotFound) || !errors.As(err, &nf) {
		t.Fatalf("LoadSigner(missing ARN) = %v, want ErrKeyNotFound", err)
	}
}

func TestCheckHealth(t *testing.T) {
	srv, c := emutest.Start(t, kmsemu.Options{})
	b := newBackend(t, c, awskms.Options{})
	if err := b.CheckHealth(t.Context()); err != nil {
		t.Fatalf("CheckHealth with no keys: %v", err)
	}
	s, err := b.LoadSigner(t.Context(), createKey(t, b))
	if err != nil {
		t.Fatal(err)
	}
	arn := s.URI().Get("key-id")
	steps := []struct {
		name  string
		apply func() error
		want  error
	}{
		{"enabled", func() error { return nil }, nil},
		{"disabled", func() error { return srv.SetKeyEnabled(arn, false) }, kmsapi.ErrKeyDisabled},
		{"re-enabled", func() error { return srv.SetKeyEnabled(arn, true) }, nil},
		{"denied", func() error { return srv.DenyKey(arn, true) }, kmsapi.ErrPermission},
		{"allowed", func() error { return srv.DenyKey(arn, false) }, nil},
	}
	for _, st := range steps {
		mustDo(t, st.apply())
		err := b.CheckHealth(t.Context())
		if (st.want == nil) != (err == nil) || (st.want != nil && !errors.Is(err, st.want)) {
			t.Errorf("%s: CheckHealth = %v, want %v", st.name, err, st.want)
		}
	}
	s.Close()
	mustDo(t, srv.SetKeyEnabled(arn, false))
	if err := b.CheckHealth(t.Context()); err != nil {
		t.Fatalf("CheckHealth after the only signer closed: %v", err)
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

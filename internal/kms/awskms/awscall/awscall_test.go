package awscall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	kmsapi "github.com/appsign/signer/internal/kms"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		kind      error
		transient bool
	}{
		{"throttling", &smithy.GenericAPIError{Code: "ThrottlingException"}, kmsapi.ErrUnavailable, true},
		{"internal", &types.KMSInternalException{}, kmsapi.ErrUnavailable, true},
		{"dependency timeout", &types.DependencyTimeoutException{}, kmsapi.ErrUnavailable, true},
		{"disabled", &types.DisabledException{}, kmsapi.ErrKeyDisabled, false},
		{"pending deletion", &types.KMSInvalidStateException{}, kmsapi.ErrKeyDisabled, false},
		{"not found", &types.NotFoundException{}, kmsapi.ErrKeyNotFound, false},
		{"access denied", &smithy.GenericAPIError{Code: "AccessDeniedException"}, kmsapi.ErrPermission, false},
		{"bad access key", &smithy.GenericAPIError{Code: "UnrecognizedClientException"}, kmsapi.ErrPermission, false},
		{"bad ciphertext", &types.InvalidCiphertextException{}, kmsapi.ErrInvalidKey, false},
		{"wrong key usage", &types.InvalidKeyUsageException{}, kmsapi.ErrInvalidKey, false},
		{"validation", &smithy.GenericAPIError{Code: "ValidationException"}, kmsapi.ErrUnsupported, false},
		{"network", &smithyhttp.RequestSendError{Err: errors.New("connection refused")}, kmsapi.ErrUnavailable, true},
		{"unknown", &smithy.GenericAPIError{Code: "SomethingNew"}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wrapped := &smithy.OperationError{ServiceID: "KMS", OperationName: "Sign", Err: tc.err}
			e := Classify(wrapped)
			if e.Transient != tc.transient {
				t.Errorf("Transient = %v, want %v", e.Transient, tc.transient)
			}
			if tc.kind != nil && !errors.Is(e, tc.kind) {
				t.Errorf("%v is not %v", e, tc.kind)
			}
			if !errors.Is(e, tc.err) {
				t.Errorf("%v does not wrap the SDK error", e)
			}
		})
	}
}

func TestDelayFullJitter(t *testing.T) {
	p := Policy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Jitter: func() float64 { return 0.5 }}.withDefaults()
	for attempt, want := range map[int]time.Duration{1: 50 * time.Millisecond, 2: 100 * time.Millisecond, 3: 200 * time.Millisecond, 4: 400 * time.Millisecond, 5: 500 * time.Millisecond, 60: 500 * time.Millisecond} {
		if got := p.delay(attempt); got != want {
			t.Errorf("delay(%d) = %v, want %v", attempt, got, want)
		}
	}
	p.Jitter = func() float64 { return 0 }
	if got := p.delay(3); got != 0 {
		t.Errorf("delay with zero jitter = %v", got)
	}
}

func TestDoContext(t *testing.T) {
	throttled := func(context.Context) (int, error) {
		return 0, &smithy.GenericAPIError{Code: "ThrottlingException"}
	}
	t.Run("cancelled stays Canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := Do(ctx, Policy{}, "Sign", throttled)
		if !errors.Is(err, context.Canceled) || errors.Is(err, kmsapi.ErrUnavailable) {
			t.Fatalf("Do = %v, want plain context.Canceled", err)
		}
	})
	t.Run("deadline is unavailable", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		_, err := Do(ctx, Policy{MaxAttempts: 100, BaseDelay: 5 * time.Millisecond, MaxDelay: 5 * time.Millisecond}, "Sign", throttled)
		if !errors.Is(err, kmsapi.ErrUnavailable) {
			t.Fatalf("Do = %v, want ErrUnavailable", err)
		}
	})
	t.Run("no sleep past the deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		slept := 0
		p := Policy{BaseDelay: time.Hour, MaxDelay: time.Hour, Jitter: func() float64 { return 0.9 },
			Sleep: func(context.Context, time.Duration) error { slept++; return nil }}
		_, err := Do(ctx, p, "Sign", throttled)
		if !errors.Is(err, kmsapi.ErrUnavailable) || slept != 0 {
			t.Fatalf("Do = %v after %d sleeps, want ErrUnavailable and no sleep", err, slept)
		}
	})
	t.Run("logs retries", func(t *testing.T) {
		var logs bytes.Buffer
		var retried []string
		n := 0
		p := Policy{BaseDelay: time.Microsecond, Log: slog.New(slog.NewTextHandler(&logs, nil)),
			OnRetry: func(op string) { retried = append(retried, op) }}
		_, err := Do(t.Context(), p, "Sign", func(ctx context.Context) (int, error) {
			if n++; n < 3 {
				return throttled(ctx)
			}
			return 1, nil
		})
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		if err != nil || len(lines) != 2 || !slices.Equal(retried, []string{"Sign", "Sign"}) {
			t.Fatalf("Do = %v with log %q and retries %q, want 2 of each", err, lines, retried)
		}
		for i, l := range lines {
			if !strings.Contains(l, "op=Sign") || !strings.Contains(l, fmt.Sprintf("attempt=%d", i+1)) {
				t.Errorf("log line %q lacks op=Sign attempt=%d", l, i+1)
			}
		}
	})
}

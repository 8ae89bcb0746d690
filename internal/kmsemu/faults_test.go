package kmsemu_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/appsign/signer/internal/kmsemu"
	"github.com/appsign/signer/internal/kmsemu/emutest"
)

// TestThrottleConcurrent injects throttling while calls run in parallel:
// exactly the requested number of calls fail, and the counters see them all.
func TestThrottleConcurrent(t *testing.T) {
	srv, c := emutest.Start(t, kmsemu.Options{})
	id := createKey(t, c, types.KeySpecSymmetricDefault)
	srv.ResetCalls()
	const calls, throttled = 40, 7
	srv.Throttle(throttled)
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for range calls {
		wg.Go(func() {
			_, err := c.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: &id}, noRetry)
			var api smithy.APIError
			if errors.As(err, &api) && api.ErrorCode() == "ThrottlingException" {
				mu.Lock()
				failed++
				mu.Unlock()
			} else if err != nil {
				t.Errorf("DescribeKey: %v", err)
			}
		})
	}
	wg.Wait()
	if failed != throttled || srv.Calls("DescribeKey") != calls {
		t.Fatalf("%d throttled of %d calls counted, want %d of %d", failed, srv.Calls("DescribeKey"), throttled, calls)
	}
}

func TestEndlessThrottleUntilReset(t *testing.T) {
	srv, c := emutest.Start(t, kmsemu.Options{})
	id := createKey(t, c, types.KeySpecSymmetricDefault)
	srv.Throttle(-1)
	for range 5 {
		if _, err := c.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: &id}, noRetry); err == nil {
			t.Fatal("DescribeKey succeeded while throttling endlessly")
		}
	}
	srv.Throttle(0)
	if _, err := c.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: &id}, noRetry); err != nil {
		t.Fatalf("DescribeKey after reset: %v", err)
	}
}

func TestLatencyHonoursClientDeadline(t *testing.T) {
	srv, c := emutest.Start(t, kmsemu.Options{})
	id := createKey(t, c, types.KeySpecSymmetricDefault)
	srv.SetLatency(time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &id}, noRetry)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DescribeKey = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("DescribeKey took %v", d)
	}
}

func TestKeyStateFaults(t *testing.T) {
	srv, c := emutest.Start(t, kmsemu.Options{})
	id := createKey(t, c, types.KeySpecEccNistEdwards25519)
	get := func() error {
		_, err := c.GetPublicKey(t.Context(), &kms.GetPublicKeyInput{KeyId: &id}, noRetry)
		return err
	}
	steps := []struct {
		name  string
		apply func() error
		want  string // API error code, "" for success
	}{
		{"disabled", func() error { return srv.SetKeyEnabled(id, false) }, "DisabledException"},
		{"enabled", func() error { return srv.SetKeyEnabled(id, true) }, ""},
		{"denied", func() error { return srv.DenyKey(id, true) }, "AccessDeniedException"},
		{"allowed", func() error { return srv.DenyKey(id, false) }, ""},
	}
	for _, st := range steps {
		if err := st.apply(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		err := get()
		var api smithy.APIError
		switch {
		case st.want == "" && err != nil:
			t.Errorf("%s: GetPublicKey = %v", st.name, err)
		case st.want != "" && (!errors.As(err, &api) || api.ErrorCode() != st.want):
			t.Errorf("%s: GetPublicKey = %v, want %s", st.name, err, st.want)
		}
	}
	if err := srv.SetKeyEnabled("alias/none", false); err == nil {
		t.Error("SetKeyEnabled(unknown) succeeded")
	}
}

func TestRawProtocolErrors(t *testing.T) {
	srv, err := kmsemu.New(kmsemu.Options{AccessKeyID: "AKID"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	auth := "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
	tests := []struct {
		name   string
		method string
		header map[string]string
		status int
		code   string
	}{
		{"GET", http.MethodGet, nil, 404, "UnknownOperationException"},
		{"no target", http.MethodPost, map[string]string{"Authorization": auth}, 400, "UnknownOperationException"},
		{"no authorization", http.MethodPost, map[string]string{"X-Amz-Target": "TrentService.ListAliases"}, 400, "MissingAuthenticationTokenException"},
		{"garbled authorization", http.MethodPost, map[string]string{"X-Amz-Target": "TrentService.ListAliases", "Authorization": "Basic abc"}, 400, "IncompleteSignatureException"},
		{"stale date", http.MethodPost, map[string]string{"X-Amz-Target": "TrentService.ListAliases", "Authorization": auth, "X-Amz-Date": "20260101T000000Z"}, 400, "InvalidSignatureException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, hs.URL+"/", strings.NewReader("{}"))
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := hs.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status || resp.Header.Get("X-Amzn-ErrorType") != tc.code {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), tc.status, tc.code)
			}
		})
	}
}

package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/metrics"
)

// TestInterceptorsCountByMethodAndCode runs handlers through the
// interceptors and reads the exposition a scrape would get.
func TestInterceptorsCountByMethodAndCode(t *testing.T) {
	m := metrics.New()
	unary := m.UnaryServerInterceptor()
	stream := m.StreamServerInterceptor()
	calls := []struct {
		method string
		err    error
	}{
		{"/signer.v1.SignerService/SignDigest", nil},
		{"/signer.v1.SignerService/SignDigest", nil},
		{"/signer.v1.SignerService/SignDigest", status.Error(codes.Unavailable, "db down")},
	}
	for _, c := range calls {
		_, _ = unary(t.Context(), nil, &grpc.UnaryServerInfo{FullMethod: c.method}, func(context.Context, any) (any, error) { return nil, c.err })
	}
	_ = stream(nil, nil, &grpc.StreamServerInfo{FullMethod: "/signer.v1.SignerService/SignArchive"}, func(any, grpc.ServerStream) error {
		return status.Error(codes.InvalidArgument, "bad")
	})
	m.Signed("softkms", "dev-signing")
	m.LedgerAppend(0, false, nil)
	m.LedgerAppend(0, false, errors.New("down"))
	m.LedgerCommit(16, false)
	m.LedgerCommit(4, true)
	m.LedgerCommit(5, false)
	m.OnFault(nil)(kms.URI{Scheme: "pkcs11"})
	m.BackendRetry("awskms")

	body := scrape(t, m)
	for _, want := range []string{
		`signer_grpc_requests_total{code="OK",method="/signer.v1.SignerService/SignDigest"} 2`,
		`signer_grpc_requests_total{code="Unavailable",method="/signer.v1.SignerService/SignDigest"} 1`,
		`signer_grpc_requests_total{code="InvalidArgument",method="/signer.v1.SignerService/SignArchive"} 1`,
		`signer_grpc_request_duration_seconds_count{code="OK",method="/signer.v1.SignerService/SignDigest"} 2`,
		`signer_grpc_requests_in_flight 0`,
		`signer_signatures_total{backend="softkms",key="dev-signing"} 1`,
		`signer_ledger_batch_size_sum 25`,
		`signer_ledger_batch_size_count 3`,
		`signer_ledger_batches_entry_by_entry_total 1`,
		`signer_ledger_append_duration_seconds_count{result="ok"} 1`,
		`signer_ledger_append_duration_seconds_count{result="error"} 1`,
		`signer_kms_verify_after_sign_failures_total{backend="pkcs11"} 1`,
		`signer_kms_backend_retries_total{backend="awskms"} 1`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

// TestNilMetricsRecordNothing: code paths take a *Metrics that may be nil.
func TestNilMetricsRecordNothing(t *testing.T) {
	var m *metrics.Metrics
	m.Signed("softkms", "k")
	m.LedgerAppend(0, false, nil)
	m.LedgerCommit(3, true)
	m.BackendError("awskms", "unavailable")
	m.OnFault(nil)(kms.URI{Scheme: "softkms"})
	resp, err := m.UnaryServerInterceptor()(t.Context(), "req", &grpc.UnaryServerInfo{FullMethod: "/x/Y"},
		func(_ context.Context, req any) (any, error) { return req, nil })
	if err != nil || resp != "req" {
		t.Fatalf("nil metrics interceptor: %v, %v", resp, err)
	}
}

func TestErrorClass(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("awskms: sign: %w", kms.ErrUnavailable), "unavailable"},
		{fmt.Errorf("verify: %w", kms.ErrBackendFault), "invalid_signature"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "deadline"},
		{kms.ErrPermission, "permission"},
		{fmt.Errorf("awskms: sign: %w", kms.ErrKeyDisabled), "disabled"},
		{kms.ErrMessageTooLarge, "unsupported"},
		{errors.New("secret-looking text 1234"), "other"},
	}
	for _, tc := range cases {
		if got := metrics.ErrorClass(tc.err); got != tc.want {
			t.Errorf("ErrorClass(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestServe checks the endpoints: /metrics always, /debug/pprof/ only
// when asked for, nothing else.
func TestServe(t *testing.T) {
	cases := []struct {
		name       string
		opts       metrics.ServeOptions
		path       string
		wantCode   int
		wantInBody string
	}{
		{"metrics", metrics.ServeOptions{}, "/metrics", 200, "signer_grpc_requests_in_flight"},
		{"no profiles by default", metrics.ServeOptions{}, "/debug/pprof/", 404, ""},
		{"profiles when enabled", metrics.ServeOptions{Profiling: true}, "/debug/pprof/", 200, "goroutine"},
		{"other paths", metrics.ServeOptions{Profiling: true}, "/", 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := metrics.New()
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- m.Serve(ctx, lis, tc.opts) }()
			resp, err := http.Get("http://" + lis.Addr().String() + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Serve: %v", err)
			}
			if resp.StatusCode != tc.wantCode || !strings.Contains(string(body), tc.wantInBody) {
				t.Fatalf("GET %s: %d, want %d with %q", tc.path, resp.StatusCode, tc.wantCode, tc.wantInBody)
			}
		})
	}
}

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: m.Handler()}
	go srv.Serve(lis)
	defer srv.Close()
	resp, err := http.Get("http://" + lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

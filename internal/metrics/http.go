package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// ServeOptions adds optional endpoints to Serve.
type ServeOptions struct {
	// Profiling adds Go's /debug/pprof/ endpoints (CPU and heap profiles).
	// They reveal internals and cost CPU while a profile runs: enable them
	// on a loopback listener only, as `signer dev --pprof` does.
	Profiling bool
}

// Serve serves /metrics on lis until ctx ends, then shuts the HTTP server
// down. Only /metrics (and /debug/pprof/ with Profiling) is served; every
// other path is 404.
func (m *Metrics) Serve(ctx context.Context, lis net.Listener, opts ServeOptions) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	if opts.Profiling {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	select {
	case err := <-done:
		return fmt.Errorf("metrics: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("metrics: shutdown: %w", err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: serve: %w", err)
	}
	return nil
}

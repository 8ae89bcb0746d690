package metrics

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// ErrNoScrapeAuthorizer means Serve was given TLS without a way to decide
// who may read /metrics.
var ErrNoScrapeAuthorizer = errors.New("metrics: TLS listener without ServeOptions.AuthorizeScrape")

// ServeOptions adds optional endpoints and transport security to Serve.
type ServeOptions struct {
	// Profiling adds Go's /debug/pprof/ endpoints (CPU and heap profiles).
	// They reveal internals and cost CPU while a profile runs: enable them
	// on a loopback listener only, as `signer dev --pprof` does.
	Profiling bool
	// TLS, when set, serves HTTPS only (a plaintext request gets no HTTP
	// answer). Its ClientAuth should be tls.VerifyClientCertIfGiven: probes
	// (kubelet, load balancers) present no certificate, scrapers do.
	TLS *tls.Config
	// AuthorizeScrape decides, on a TLS listener, whether the verified
	// client certificate may read /metrics; it returns nil to allow. A
	// request without a verified certificate is refused before it is called.
	// Required with TLS; unused on a plaintext (loopback) listener.
	AuthorizeScrape func(leaf *x509.Certificate) error
	// Ready reports whether the service can serve (database and key backends
	// healthy, not shutting down); /readyz answers 503 while it returns an
	// error. Nil means always ready.
	Ready func(ctx context.Context) error
	// ErrorLog receives the HTTP server's own errors (failed TLS handshakes:
	// plaintext requests, refused client certificates) at debug level; nil
	// discards them, as anyone who reaches the port can cause them.
	ErrorLog *slog.Logger
}

// Serve serves until ctx ends, then shuts the HTTP server down:
//
//	/metrics  Prometheus exposition (on TLS: an authorized client certificate only)
//	/livez    200 while the process serves HTTP (liveness)
//	/readyz   200 when Ready passes, else 503 (readiness)
//
// and /debug/pprof/ with Profiling. Every other path is 404. Probe answers
// are fixed words ("ok", "not ready"): the cause of a failed check goes to
// the service's log, not to an unauthenticated caller.
func (m *Metrics) Serve(ctx context.Context, lis net.Listener, opts ServeOptions) error {
	if opts.TLS != nil && opts.AuthorizeScrape == nil {
		return ErrNoScrapeAuthorizer
	}
	mux := http.NewServeMux()
	metricsHandler := m.Handler()
	if opts.TLS != nil {
		metricsHandler = requireScraper(metricsHandler, opts.AuthorizeScrape)
	}
	mux.Handle("GET /metrics", metricsHandler)
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) { probeAnswer(w, true) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ready := true
		if opts.Ready != nil {
			cctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			ready = opts.Ready(cctx) == nil
		}
		probeAnswer(w, ready)
	})
	if opts.Profiling {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	errorLog := log.New(io.Discard, "", 0)
	if opts.ErrorLog != nil {
		errorLog = slog.NewLogLogger(opts.ErrorLog.Handler(), slog.LevelDebug)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, TLSConfig: opts.TLS, ErrorLog: errorLog}
	done := make(chan error, 1)
	go func() {
		if opts.TLS != nil {
			// Certificates come from TLSConfig (GetCertificate), not files.
			done <- srv.ServeTLS(lis, "", "")
			return
		}
		done <- srv.Serve(lis)
	}()
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

// requireScraper lets through only requests whose TLS client certificate
// was verified against the listener's client CAs and that authorize accepts.
func requireScraper(next http.Handler, authorize func(*x509.Certificate) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
			http.Error(w, "a client certificate is required to read metrics", http.StatusUnauthorized)
			return
		}
		if err := authorize(r.TLS.VerifiedChains[0][0]); err != nil {
			http.Error(w, "this identity may not read metrics", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func probeAnswer(w http.ResponseWriter, ok bool) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready")
		return
	}
	fmt.Fprintln(w, "ok")
}

package service

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/metrics"
	"github.com/appsign/signer/internal/server"
	"github.com/appsign/signer/internal/transport"
)

// errNotScraper means a verified client certificate's identity is not in
// metrics.scrapers.
var errNotScraper = errors.New("not in metrics.scrapers")

// startOps serves /metrics, /livez and /readyz (and Go profiles when
// profiling) on metrics.listen until ctx ends: plaintext on loopback,
// otherwise (config.Validate insists) HTTPS with the gRPC listener's
// server certificate. It returns once listening.
func startOps(ctx context.Context, cfg *config.Config, profiling bool, m *metrics.Metrics, srv *server.Server, log *slog.Logger, stdout io.Writer) error {
	opts := metrics.ServeOptions{
		ErrorLog:  log,
		Profiling: profiling,
		// Readiness is the gRPC health status: database ping and key
		// backends every 5 s, NOT_SERVING from the start of a shutdown.
		Ready: func(ctx context.Context) error {
			resp, err := srv.Health.Check(ctx, &healthpb.HealthCheckRequest{})
			if err != nil {
				return err
			}
			if resp.Status != healthpb.HealthCheckResponse_SERVING {
				return fmt.Errorf("health %s", resp.Status)
			}
			return nil
		},
	}
	scheme := "http"
	if cfg.Metrics.TLS {
		tlsCfg, err := transport.ServerTLS(cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.TLS.ClientCAFile)
		if err != nil {
			return fmt.Errorf("metrics.tls: %w", err)
		}
		// Probes (kubelet, load balancers) present no certificate; a
		// certificate that is presented must chain to the client CA, and
		// /metrics requires one (metrics.ServeOptions.AuthorizeScrape).
		tlsCfg.ClientAuth = tls.VerifyClientCertIfGiven
		opts.TLS = tlsCfg
		scrapers := cfg.Metrics.Scrapers
		opts.AuthorizeScrape = func(leaf *x509.Certificate) error {
			id, err := auth.SubjectFromCertificate(leaf)
			if err != nil {
				return err
			}
			if !slices.Contains(scrapers, id) {
				log.Warn("metrics scrape refused", "caller", id)
				return errNotScraper
			}
			return nil
		}
		scheme = "https"
	}
	lis, err := net.Listen("tcp", cfg.Metrics.Listen)
	if err != nil {
		return fmt.Errorf("metrics.listen %s: %w", cfg.Metrics.Listen, err)
	}
	go func() {
		if err := m.Serve(ctx, lis, opts); err != nil {
			log.Error("metrics endpoint stopped", "error", err.Error())
		}
	}()
	fmt.Fprintf(stdout, "metrics on %s://%s/metrics (probes /livez, /readyz)\n", scheme, lis.Addr())
	return nil
}

package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/auth/approvalpg"
	"github.com/appsign/signer/internal/backends"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/limits"
	"github.com/appsign/signer/internal/metrics"
	"github.com/appsign/signer/internal/revocationstore"
	"github.com/appsign/signer/internal/server"
	"github.com/appsign/signer/internal/transport"
)

func newServeCommand() *cobra.Command {
	var (
		configPath string
		flags      config.Overrides
	)
	cmd := &cobra.Command{
		Use:   "serve --config FILE",
		Short: "Run the signer for production: mutual TLS, per-role authorization, configured key backends",
		Long: `Run the signer from a YAML configuration (see docs/examples/signer.yaml).

Every non-loopback listener uses TLS 1.2+ with client certificates; every RPC
is authorized by role from the policy file; keys live in the configured
backends. The database URL is read from the environment variable or file the
configuration names, never from a flag. Run ` + "`signer db roles`" + ` (or
` + "`signer migrate`" + `) first.

Precedence: flag > environment (SIGNER_LISTEN, SIGNER_METRICS_LISTEN,
SIGNER_DB_MAX_CONNS, SIGNER_LOG_LEVEL) > file > default.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configPath == "" {
				return usageError{errors.New("--config FILE is required")}
			}
			cfg, err := config.LoadWithOverrides(configPath, os.Getenv, flags)
			if err != nil {
				return usageError{err}
			}
			return runServe(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "configuration file (YAML)")
	f.StringVar(&flags.Listen, "listen", "", "gRPC address, overrides listen ($"+config.EnvListen+")")
	f.StringVar(&flags.MetricsListen, "metrics-listen", "", "operations (metrics, probes) address, overrides metrics.listen ($"+config.EnvMetricsListen+")")
	f.IntVar(&flags.DBMaxConns, "db-max-conns", 0, fmt.Sprintf("database pool size unless the URL sets pool_max_conns, overrides database.max_conns ($%s, default %d)", config.EnvDBMaxConns, config.DefaultMaxConns))
	f.StringVar(&flags.LogLevel, "log-level", "", "debug, info, warn or error, overrides log.level ($"+config.EnvLogLevel+")")
	return cmd
}

func runServe(ctx context.Context, cfg *config.Config, stdout, stderr io.Writer) error {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	databaseURL, err := readDatabaseURL(cfg.Database)
	if err != nil {
		return err
	}
	store, err := ledger.Open(ctx, withPoolSize(databaseURL, cfg.Database.MaxConns))
	if err != nil {
		return err
	}
	defer store.Close()
	if cfg.Database.RequireSynchronousStandby {
		warnUnlessSynchronous(ctx, store, log)
	}
	if err := checkServiceRole(ctx, store, cfg.Database, log); err != nil {
		return err
	}

	m := metrics.New()
	m.DBPool(store.Pool().Stat)
	m.InitBackends(cfg.Backends.Schemes()...)
	registry, err := backends.Open(ctx, cfg.Backends, log, m.OnFault(func(u kms.URI) {
		log.Error("key backend returned a signature that does not verify; discarded", "key", u.String())
	}))
	if err != nil {
		return err
	}
	defer registry.Close()

	trust, err := loadTrust(cfg.Trust)
	if err != nil {
		return err
	}
	var issuer keystore.Issuer
	if cfg.Keys.CA.URI != "" {
		if issuer, err = loadIssuer(ctx, registry, cfg.Keys.CA, time.Duration(cfg.Keys.SigningCertValidity), trust); err != nil {
			return err
		}
	}
	keys := keystore.New(store.Pool(), registry, issuer, keystore.Options{
		Logf:    func(format string, args ...any) { log.Warn(fmt.Sprintf(format, args...)) },
		OnEvent: store.KeyEventHook(),
	})
	defer keys.Close()

	var trustAdmin *server.TrustAdmin
	if cfg.Trust.Revocation != nil {
		if trustAdmin, err = loadTrustAdmin(ctx, registry, revocationstore.New(store.Pool(), store.RevocationStoreOptions(server.KeyVersionRevoker(keys))), *cfg.Trust.Revocation, trust); err != nil {
			return err
		}
	} else {
		log.Warn("trust.revocation is not configured: TrustService (revocation, revocation lists, CRLs) is not offered")
	}
	if err := logCACertificates(ctx, store, "signer serve", trust, trustAdmin, log); err != nil {
		return err
	}

	policy, err := auth.LoadPolicy(cfg.Auth.PolicyFile)
	if err != nil {
		return err
	}
	var (
		authn auth.Authenticator
		opts  []grpc.ServerOption
	)
	if cfg.TLS.Enabled() {
		tlsCfg, err := transport.ServerTLS(cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.TLS.ClientCAFile)
		if err != nil {
			return err
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
		authn = auth.NewMTLS(policy)
	} else {
		// Validate allows this only on loopback.
		id, ok := policy.LoopbackIdentity()
		if !ok {
			return usageError{fmt.Errorf("listen %s without tls: the policy must name a loopback identity, or configure tls", cfg.Listen)}
		}
		if authn, err = auth.NewLoopback(cfg.Listen, id); err != nil {
			return err
		}
	}
	authz := auth.NewAuthorizer(policy, authn, log)
	lim, err := limits.New(cfg.Limits, auth.Caller)
	if err != nil {
		return err
	}
	opts = append(opts, lim.ServerOptions()...)
	opts = append(opts,
		grpc.ChainUnaryInterceptor(authz.UnaryServerInterceptor(), lim.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(authz.StreamServerInterceptor(), lim.StreamServerInterceptor()))

	// Keys are created and the log signed only once everything that can be
	// checked without creating anything (trust, CA keys, policy, TLS files)
	// has passed: a start that fails creates no key.
	if err := bootstrapKeys(ctx, keys, cfg.Keys); err != nil {
		return err
	}
	go keys.Watch(ctx, 30*time.Second)
	ledgerKey, err := ledgerSigner(ctx, keys, registry, cfg.Keys.Ledger)
	if err != nil {
		return err
	}
	ledgerLog, err := startLedgerLog(ctx, store, cfg.Ledger.Origin, ledgerKey, cfg.Ledger.CheckpointDir, cfg.Ledger.Witnesses, time.Duration(cfg.Ledger.PublishInterval), log, m)
	if err != nil {
		return err
	}

	approvals := approvalpg.New(store.Pool(), auth.ApprovalOptions{})
	approvals.OnRequest, approvals.OnApprove, approvals.OnConsume = store.ApprovalHooks()
	srv, err := server.New(ctx, server.Config{
		Ledger:         store,
		Keys:           server.StoreKeys{Store: keys, Name: cfg.Keys.ArchiveSigning},
		KeyStore:       keys,
		Approvals:      approvals,
		Trust:          trust,
		TrustAdmin:     trustAdmin,
		Metrics:        m,
		SpoolDir:       cfg.SpoolDir,
		MaxArchiveSize: cfg.MaxArchiveSize,
		Caller:         auth.Caller,
		HealthCheck:    withLedgerHealth(registry.CheckHealth, ledgerLog),
		Logger:         log,
		Log:            ledgerLog,
	}, opts...)
	if err != nil {
		return err
	}
	if err := auth.CheckAllMethodsCovered(srv.GRPC, policy); err != nil {
		return err
	}
	for _, c := range chain.ExpiresSoon(append(append([]*x509.Certificate{}, trust.Roots...), trust.Intermediates...), time.Now(), 30*24*time.Hour) {
		log.Warn("CA certificate in the trust bundle expires within 30 days", "subject", c.Subject.String(), "not_after", c.NotAfter)
	}

	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	healthCtx, stopHealth := context.WithCancel(ctx)
	defer stopHealth()
	srv.StartHealth(healthCtx, 5*time.Second)
	if cfg.Metrics.Listen != "" {
		// The ops listener outlives ctx: /readyz answers 503 while calls drain.
		metricsCtx, stopMetrics := context.WithCancel(context.WithoutCancel(ctx))
		defer stopMetrics()
		if err := startOps(metricsCtx, cfg, m, srv, log, stdout); err != nil {
			return err
		}
	}

	mode := "mutual TLS"
	if !cfg.TLS.Enabled() {
		mode = "plaintext, loopback only"
	}
	fmt.Fprintf(stdout, "signer serving on %s (%s)\n", lis.Addr(), mode)
	log.Info("serving", "addr", lis.Addr().String(), "mode", mode, "archive_signing_key", cfg.Keys.ArchiveSigning)
	return serveUntilDone(ctx, srv, lis, time.Duration(cfg.ShutdownGrace), stdout)
}

// serveUntilDone serves until ctx ends, then drains (server.Shutdown):
// NOT_SERVING, new calls refused, in-flight calls finish for at most grace.
func serveUntilDone(ctx context.Context, srv *server.Server, lis net.Listener, grace time.Duration, stdout io.Writer) error {
	served := make(chan error, 1)
	go func() { served <- srv.GRPC.Serve(lis) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "shutting down…")
	// NOT_SERVING at once (gRPC health and /readyz), new calls refused
	// with Unavailable, calls in flight finish within grace.
	srv.Shutdown(grace)
	fmt.Fprintln(stdout, "stopped")
	return nil
}

// readDatabaseURL reads the ledger URL from the environment variable or
// the file the configuration names; the URL itself is never logged.
func readDatabaseURL(d config.Database) (string, error) {
	if d.URLFile != "" {
		fi, err := os.Stat(d.URLFile)
		if err != nil {
			return "", fmt.Errorf("database.url_file: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("database.url_file %s has mode %04o: it may hold a password; make it readable by its owner only (chmod 600)", d.URLFile, fi.Mode().Perm())
		}
		b, err := os.ReadFile(d.URLFile)
		if err != nil {
			return "", fmt.Errorf("database.url_file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if u := os.Getenv(d.URLEnv); u != "" {
		return u, nil
	}
	return "", usageError{fmt.Errorf("no database URL: set %s (database.url_env) or database.url_file", d.URLEnv)}
}

func loadTrust(t config.Trust) (server.Trust, error) {
	var out server.Trust
	load := func(paths []string) ([]*x509.Certificate, error) {
		var certs []*x509.Certificate
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("trust: %w", err)
			}
			c, err := chain.ParseCertificatePEM(b)
			if err != nil {
				return nil, fmt.Errorf("trust: %s: %w", p, err)
			}
			if !c.IsCA {
				return nil, fmt.Errorf("trust: %s is not a CA certificate", p)
			}
			certs = append(certs, c)
		}
		return certs, nil
	}
	var err error
	if out.Roots, err = load(t.Roots); err != nil {
		return out, err
	}
	if out.Intermediates, err = load(t.Intermediates); err != nil {
		return out, err
	}
	for i, c := range out.Intermediates {
		if c.NotAfter.Before(time.Now()) {
			continue // published until withdrawn; the start-up expiry warning names it
		}
		if err := chain.ChainsToRoots(c, out.Roots, out.Intermediates, time.Now()); err != nil {
			return out, fmt.Errorf("trust.intermediates[%d] %s: %w", i, t.Intermediates[i], err)
		}
	}
	return out, nil
}

// loadIssuer loads the issuing CA's key from its backend and checks it
// against the CA certificate, and that certificate against the trust
// bundle's roots, before trusting either.
func loadIssuer(ctx context.Context, reg *kms.Registry, ca config.CAKey, validity time.Duration, trust server.Trust) (keystore.Issuer, error) {
	signer, cert, err := loadCAKey(ctx, reg, "keys.ca", ca.URI, ca.Certificate, trust)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("keys.ca: %s is not a CA certificate", ca.Certificate)
	}
	return chain.Issuer{CA: cert, Key: kms.CryptoSigner(context.WithoutCancel(ctx), signer), Validity: validity, Rand: rand.Reader}, nil
}

// loadCAKey loads a key from its backend with its certificate, and checks
// that the certificate is for that key and chains to the trust bundle's
// roots before trusting either.
func loadCAKey(ctx context.Context, reg *kms.Registry, field, uriText, certFile string, trust server.Trust) (kms.Signer, *x509.Certificate, error) {
	uri, err := kms.ParseURI(uriText)
	if err != nil {
		return nil, nil, fmt.Errorf("%s.uri: %w", field, err)
	}
	b, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("%s.certificate: %w", field, err)
	}
	cert, err := chain.ParseCertificatePEM(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s.certificate: %w", field, err)
	}
	signer, err := reg.LoadSigner(ctx, uri)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", field, err)
	}
	if !signer.Public().Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s: the certificate %s is not for the key %s", field, certFile, uri)
	}
	if err := chain.ChainsToRoots(cert, trust.Roots, trust.Intermediates, time.Now()); err != nil {
		return nil, nil, fmt.Errorf("%s: %s: %w (list its issuers in trust.roots and trust.intermediates)", field, certFile, err)
	}
	return signer, cert, nil
}

// loadTrustAdmin loads the keys TrustService signs revocation lists and
// CRLs with.
func loadTrustAdmin(ctx context.Context, reg *kms.Registry, store *revocationstore.Store, r config.Revocation, trust server.Trust) (*server.TrustAdmin, error) {
	admin := &server.TrustAdmin{Store: store, ListIssuer: r.Issuer, Rand: rand.Reader}
	var err error
	if admin.ListSigner, admin.ListSignerCert, err = loadCAKey(ctx, reg, "trust.revocation.list_signer", r.ListSigner.URI, r.ListSigner.Certificate, trust); err != nil {
		return nil, err
	}
	for i, ca := range r.CAs {
		field := fmt.Sprintf("trust.revocation.cas[%d]", i)
		signer, cert, err := loadCAKey(ctx, reg, field, ca.URI, ca.Certificate, trust)
		if err != nil {
			return nil, err
		}
		if !cert.IsCA {
			return nil, fmt.Errorf("%s: %s is not a CA certificate", field, ca.Certificate)
		}
		admin.CAs = append(admin.CAs, server.CA{Name: ca.Name, Cert: cert, Signer: signer})
	}
	return admin, nil
}

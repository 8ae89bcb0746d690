package service

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/auth/approvalpg"
	"github.com/appsign/signer/internal/backends"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/limits"
	"github.com/appsign/signer/internal/metrics"
	"github.com/appsign/signer/internal/revocationstore"
	"github.com/appsign/signer/internal/server"
	"github.com/appsign/signer/internal/transport"
)

// Build validates cfg and builds the whole service: the ledger's database
// pool, the key backends, the key store, the ledger log and its checkpoint
// publisher, TrustService's keys, authentication, authorization and
// limits, the gRPC services, the gRPC listener and (metrics.listen) the
// operations listener. ctx bounds the build; what runs in the background
// (health checks, key reloads, checkpoint publishing) runs until Shutdown.
//
// Keys are created and the log signed only once everything that can be
// checked without creating anything (trust, CA keys, policy, TLS files)
// has passed: a start that fails creates no key. On error everything
// opened so far is closed.
func Build(ctx context.Context, cfg Config) (_ *Service, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f := &cfg.File
	if cfg.Actor == "" {
		cfg.Actor = "signer serve"
	}
	if cfg.KeyPoll == 0 {
		cfg.KeyPoll = DefaultKeyPoll
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.LogOutput == nil {
		cfg.LogOutput = io.Discard
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(f.Log.Level)) // Validate checked it
	log := slog.New(slog.NewJSONHandler(cfg.LogOutput, &slog.HandlerOptions{Level: level}))

	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s := &Service{log: log, stdout: cfg.Stdout, grace: time.Duration(f.ShutdownGrace), stopBackground: stop}
	defer func() {
		if err != nil {
			s.close()
		}
	}()

	store, err := openLedger(ctx, cfg.DatabaseURL, f.Database, log)
	if err != nil {
		return nil, err
	}
	s.onClose(store.Close)
	m := metrics.New()
	m.DBPool(store.Pool().Stat)
	m.InitBackends(f.Backends.Schemes()...)
	registry, err := backends.Open(ctx, f.Backends, log, backends.Hooks{
		OnFault: m.OnFault(func(u kms.URI) {
			log.Error("key backend returned a signature that does not verify; discarded", "key", u.String())
		}),
		OnRetry: m.BackendRetry,
	})
	if err != nil {
		return nil, err
	}
	s.onClose(func() { registry.Close() })

	trust, err := loadTrust(f.Trust)
	if err != nil {
		return nil, err
	}
	var issuer keystore.Issuer
	if f.Keys.CA.URI != "" {
		if issuer, err = loadIssuer(ctx, registry, f.Keys.CA, time.Duration(f.Keys.SigningCertValidity), trust); err != nil {
			return nil, err
		}
	}
	keys := keystore.New(store.Pool(), registry, issuer, keystore.Options{
		Log:     log,
		OnEvent: store.KeyEventHook(),
	})
	s.onClose(func() { keys.Close() })

	var trustAdmin *server.TrustAdmin
	if f.Trust.Revocation != nil {
		if trustAdmin, err = loadTrustAdmin(ctx, registry, revocationstore.New(store.Pool(), store.RevocationStoreOptions(server.KeyVersionRevoker(keys))), *f.Trust.Revocation, trust); err != nil {
			return nil, err
		}
	} else {
		log.Warn("trust.revocation is not configured: TrustService (revocation, revocation lists, CRLs) is not offered")
	}
	if err := logCACertificates(ctx, store, cfg.Actor, trust, trustAdmin, log); err != nil {
		return nil, err
	}

	policy, opts, err := callerChecks(f, log)
	if err != nil {
		return nil, err
	}

	if cfg.Import != nil {
		if err := importKey(ctx, keys, cfg.Import, cfg.Actor, log); err != nil {
			return nil, err
		}
	}
	if err := bootstrapKeys(ctx, keys, f.Keys); err != nil {
		return nil, err
	}
	if cfg.KeyPollOnly {
		go keys.Poll(bg, cfg.KeyPoll)
	} else {
		go keys.Watch(bg, cfg.KeyPoll)
	}
	ledgerKey, err := ledgerSigner(ctx, keys, registry, f.Keys.Ledger)
	if err != nil {
		return nil, err
	}
	ledgerLog, err := startLedgerLog(bg, store, f.Ledger.Origin, ledgerKey, f.Ledger.CheckpointDir, f.Ledger.Witnesses, time.Duration(f.Ledger.PublishInterval), log, m)
	if err != nil {
		return nil, err
	}

	approvals := approvalpg.New(store.Pool(), auth.ApprovalOptions{})
	approvals.OnRequest, approvals.OnApprove, approvals.OnConsume = store.ApprovalHooks()
	srv, err := server.New(ctx, server.Config{
		Ledger:         store,
		Keys:           server.StoreKeys{Store: keys, Name: f.Keys.ArchiveSigning},
		Approvals:      approvals,
		SingleOperator: cfg.SingleOperator,
		Trust:          trust,
		TrustAdmin:     trustAdmin,
		Metrics:        m,
		SpoolDir:       f.SpoolDir,
		MaxArchiveSize: f.MaxArchiveSize,
		Caller:         auth.Caller,
		HealthCheck:    withLedgerHealth(registry.CheckHealth, ledgerLog),
		Logger:         log,
		LedgerLog:      ledgerLog,
	}, opts...)
	if err != nil {
		return nil, err
	}
	s.srv = srv
	if err := auth.CheckAllMethodsCovered(srv.GRPC, policy); err != nil {
		return nil, err
	}
	for _, c := range chain.ExpiresSoon(append(append([]*x509.Certificate{}, trust.Roots...), trust.Intermediates...), time.Now(), 30*24*time.Hour) {
		log.Warn("CA certificate in the trust bundle expires within 30 days", "subject", c.Subject.String(), "not_after", c.NotAfter)
	}

	if s.lis, err = net.Listen("tcp", f.Listen); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", f.Listen, err)
	}
	s.onClose(func() { s.lis.Close() })
	srv.StartHealth(bg, 5*time.Second)
	if f.Metrics.Listen != "" {
		// The ops listener outlives the gRPC one: /readyz answers 503
		// while calls drain.
		if err := startOps(bg, f, cfg.Profiling, m, srv, log, cfg.Stdout); err != nil {
			return nil, err
		}
	}
	s.mode = "mutual TLS"
	if !f.TLS.Enabled() {
		s.mode = "plaintext, loopback only"
	}
	log.Info("listening", "addr", s.lis.Addr().String(), "mode", s.mode, "archive_signing_key", f.Keys.ArchiveSigning)
	return s, nil
}

// callerChecks returns the authorization policy and the gRPC options that
// authenticate (mutual TLS, or the policy's loopback identity on a
// plaintext loopback listener), authorize and limit every call.
func callerChecks(f *config.Config, log *slog.Logger) (*auth.Policy, []grpc.ServerOption, error) {
	policy := f.Auth.Policy
	if policy == nil {
		var err error
		if policy, err = auth.LoadPolicy(f.Auth.PolicyFile); err != nil {
			return nil, nil, err
		}
	}
	var (
		authn auth.Authenticator
		opts  []grpc.ServerOption
	)
	if f.TLS.Enabled() {
		tlsCfg, err := transport.ServerTLS(f.TLS.CertFile, f.TLS.KeyFile, f.TLS.ClientCAFile)
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
		authn = auth.NewMTLS(policy)
	} else {
		// Validate allows this only on loopback.
		id, ok := policy.LoopbackIdentity()
		if !ok {
			return nil, nil, fmt.Errorf("%w: listen %s without tls: the policy must name a loopback identity, or configure tls", ErrConfig, f.Listen)
		}
		var err error
		if authn, err = auth.NewLoopback(f.Listen, id); err != nil {
			return nil, nil, err
		}
	}
	authz := auth.NewAuthorizer(policy, authn, log)
	lim, err := limits.New(f.Limits, auth.Caller)
	if err != nil {
		return nil, nil, err
	}
	opts = append(opts, lim.ServerOptions()...)
	opts = append(opts,
		grpc.ChainUnaryInterceptor(authz.UnaryServerInterceptor(), lim.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(authz.StreamServerInterceptor(), lim.StreamServerInterceptor()))
	return policy, opts, nil
}

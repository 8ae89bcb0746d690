package server

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/metrics"
	"github.com/appsign/signer/internal/translog"
)

// DefaultMaxArchiveSize is the archive size limit when none is configured.
const DefaultMaxArchiveSize = 512 << 20

// chunkLimit bounds one gRPC message; clients send archives in chunks of
// at most this size (1 MiB is typical).
const chunkLimit = 4 << 20

// Ledger is what the services need from the signature ledger.
type Ledger interface {
	Record(ctx context.Context, e ledger.Entry) (ledger.Entry, bool, error)
	FindByIdempotencyKey(ctx context.Context, caller, key string) (ledger.Entry, error)
	Get(ctx context.Context, id int64) (ledger.Entry, error)
	// EntryRevocation names a revocation covering an entry (ErrNotFound: none).
	EntryRevocation(ctx context.Context, id int64) (ledger.EntryRevocation, error)
	// AppendEvent logs an event that has no transaction of its own.
	AppendEvent(ctx context.Context, ev ledger.Event) (int64, error)
	List(ctx context.Context, f ledger.Filter) ([]ledger.Entry, error)
	Ping(ctx context.Context) error
}

// Trust is the CA material published in trust bundles.
type Trust struct {
	Roots         []*x509.Certificate
	Intermediates []*x509.Certificate
}

// Config wires the services.
type Config struct {
	Ledger Ledger
	// Keys supplies the archive-signing key. When it is a StoreKeys, its
	// key store also serves KeyService (create, list, rotate, retire) and
	// the revocation of key versions.
	Keys KeySource
	// Approvals, if set, serves ApprovalService and enforces the two-person
	// rule on the most dangerous actions.
	Approvals auth.Approvals
	// SingleOperator waives the two-person rule, for `signer dev` only:
	// there one loopback identity holds every role, so no second person
	// can approve. Each waived approval is logged as a warning.
	SingleOperator bool
	// TrustAdmin, if set, serves TrustService (revocation, revocation
	// lists, CRLs, private-build certificates).
	TrustAdmin *TrustAdmin
	Trust      Trust
	// SpoolDir holds archives while they are signed (unlinked files). Empty means os.TempDir().
	SpoolDir string
	// MaxArchiveSize in bytes; 0 means DefaultMaxArchiveSize.
	MaxArchiveSize int64
	// Caller names the authenticated caller of a request.
	Caller func(ctx context.Context) string
	// HealthCheck reports whether the dependencies (database, key backends) can serve; nil means always.
	HealthCheck func(ctx context.Context) error
	Logger      *slog.Logger
	Now         func() time.Time
	// Metrics, if set, counts requests, signatures and ledger writes; nil records nothing.
	Metrics *metrics.Metrics
	// LedgerLog, if set, serves the tamper-evident log through
	// LedgerService (checkpoints, proofs, leaves); without it those RPCs
	// fail with FailedPrecondition.
	LedgerLog *translog.Log

	// keyStore is the key store behind Keys, if any (see Keys).
	keyStore *keystore.Store
}

func (c *Config) setDefaults() error {
	if c.Ledger == nil || c.Keys == nil {
		return errors.New("server: config needs a ledger and a key source")
	}
	if len(c.Trust.Roots) == 0 {
		return errors.New("server: config needs at least one root CA")
	}
	if c.SpoolDir == "" {
		c.SpoolDir = os.TempDir()
	}
	if c.MaxArchiveSize <= 0 {
		c.MaxArchiveSize = DefaultMaxArchiveSize
	}
	if c.Caller == nil {
		c.Caller = func(context.Context) string { return "anonymous" }
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if sk, ok := c.Keys.(StoreKeys); ok {
		c.keyStore = sk.Store
	}
	return nil
}

// Server holds the gRPC server and its services.
type Server struct {
	GRPC   *grpc.Server
	Health *health.Server
	cfg    Config
	drain  drain
}

// streamWorkers is how many goroutines gRPC keeps to run requests on. A
// request on a goroutine of its own grows that goroutine's stack for
// Ed25519 and SHA-512, and the next request's new goroutine grows it
// again: runtime.copystack was 4-5 % of the signer's CPU with single
// SignDigest calls, under 1 % with workers, which keep their grown stacks
// (issue 13: signer 245-252 -> 226-240 µs/sig at 32 callers, load average
// ≈ 14). Requests beyond that many at once get a goroutine of their own,
// as without workers. grpc.NumStreamWorkers is marked experimental; if it
// goes, this option goes with it and nothing else changes.
const streamWorkers = 64

// New builds the gRPC server with the signer, ledger, health and reflection
// services registered. Extra server options (TLS credentials, …) are appended.
func New(ctx context.Context, cfg Config, opts ...grpc.ServerOption) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	key, err := cfg.Keys.Active(ctx)
	if err != nil {
		return nil, fmt.Errorf("server: active signing key: %w", err)
	}
	if err := key.Check(); err != nil {
		return nil, err
	}
	if cfg.Metrics != nil {
		cfg.Ledger = meteredLedger{Ledger: cfg.Ledger, m: cfg.Metrics}
		cfg.Keys = meteredKeys{KeySource: cfg.Keys, m: cfg.Metrics}
	}
	s := &Server{Health: health.NewServer(), cfg: cfg}
	base := []grpc.ServerOption{
		grpc.NumStreamWorkers(streamWorkers),
		grpc.MaxRecvMsgSize(chunkLimit + 64<<10),
		grpc.ChainUnaryInterceptor(cfg.Metrics.UnaryServerInterceptor(), UnaryInterceptor(cfg.Logger), s.drain.unary()),
		grpc.ChainStreamInterceptor(cfg.Metrics.StreamServerInterceptor(), StreamInterceptor(cfg.Logger), s.drain.stream()),
	}
	g := grpc.NewServer(append(base, opts...)...)
	s.GRPC = g
	signer := &signerService{cfg: &s.cfg}
	signerv1.RegisterSignerServiceServer(g, signer)
	signerv1.RegisterBatchServiceServer(g, &batchService{signer: signer})
	signerv1.RegisterLedgerServiceServer(g, &ledgerService{cfg: &s.cfg})
	if cfg.keyStore != nil {
		signerv1.RegisterKeyServiceServer(g, &keyService{cfg: &s.cfg})
	}
	if cfg.Approvals != nil {
		signerv1.RegisterApprovalServiceServer(g, &approvalService{cfg: &s.cfg})
	}
	if cfg.TrustAdmin != nil {
		if err := cfg.TrustAdmin.check(); err != nil {
			return nil, err
		}
		signerv1.RegisterTrustServiceServer(g, &trustService{cfg: &s.cfg, admin: cfg.TrustAdmin})
	}
	healthpb.RegisterHealthServer(g, s.Health)
	reflection.Register(g)
	return s, nil
}

// services lists the names health status is reported for.
var services = []string{"", signerv1.SignerService_ServiceDesc.ServiceName, signerv1.LedgerService_ServiceDesc.ServiceName, signerv1.KeyService_ServiceDesc.ServiceName, signerv1.TrustService_ServiceDesc.ServiceName, signerv1.BatchService_ServiceDesc.ServiceName}

// StartHealth checks dependencies once before it returns, so a listener
// opened afterwards never answers a health check with "unknown service",
// then keeps checking every interval in the background until ctx ends.
func (s *Server) StartHealth(ctx context.Context, interval time.Duration) {
	s.checkHealth(ctx, interval)
	go s.healthLoop(ctx, interval)
}

// healthLoop re-checks every interval until ctx ends.
func (s *Server) healthLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.checkHealth(ctx, interval)
		}
	}
}

// checkHealth sets every service's status from one dependency check
// bounded by interval.
func (s *Server) checkHealth(ctx context.Context, interval time.Duration) {
	st := healthpb.HealthCheckResponse_SERVING
	cctx, cancel := context.WithTimeout(ctx, interval)
	defer cancel()
	err := s.cfg.Ledger.Ping(cctx)
	if err == nil && s.cfg.HealthCheck != nil {
		err = s.cfg.HealthCheck(cctx)
	}
	if err != nil {
		st = healthpb.HealthCheckResponse_NOT_SERVING
		s.cfg.Logger.Warn("health check failed", "error", err.Error())
	}
	for _, name := range services {
		s.Health.SetServingStatus(name, st)
	}
}

package service_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/service"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// devConfig is what `signer dev` builds from, on a fresh migrated database.
func devConfig(t *testing.T) service.Config {
	t.Helper()
	cfg, err := service.DevConfig(rand.Reader, service.DevOptions{
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", MaxArchiveSize: 1 << 20, LogLevel: "warn",
		DBMaxConns: 4, ShutdownGrace: time.Minute, KeyPoll: time.Minute,
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL = pgtest.URL(t)
	if err := ledger.Migrate(t.Context(), cfg.DatabaseURL); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func metadata(idem string) *signerv1.SignArchiveRequest {
	return &signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Metadata{Metadata: &signerv1.SignArchiveMetadata{
		AppKey: "com.example.hello", Version: "1.0.0", Track: signerv1.Track_TRACK_MARKETPLACE, ReviewRef: "review-1", IdempotencyKey: idem,
	}}}
}

func chunk(b []byte) *signerv1.SignArchiveRequest {
	return &signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Chunk{Chunk: b}}
}

// TestBuildDevServesThenDrains builds the dev service, signs over a real
// listener, and shuts down with a call in flight: health turns NOT_SERVING
// while the listener still accepts (a new connection reads it), a new call
// is refused with Unavailable, the call in flight completes, and the
// ledger holds its signature after the service is gone.
func TestBuildDevServesThenDrains(t *testing.T) {
	ctx := t.Context()
	cfg := devConfig(t)
	svc, err := service.Build(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- svc.Run(runCtx) }()
	addr := svc.Addr().String()

	conn := dial(t, addr)
	signer := signerv1.NewSignerServiceClient(conn)
	watchCtx, stopWatch := context.WithCancel(ctx)
	watch, err := healthpb.NewHealthClient(conn).Watch(watchCtx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := watch.Recv(); err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health before shutdown: %v, %v; want SERVING", h, err)
	}

	// A call in flight: metadata and half the archive sent.
	archive := bytes.Repeat([]byte("archive "), 4096)
	inFlight, err := signer.SignArchive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := inFlight.Send(metadata("in-flight")); err != nil {
		t.Fatal(err)
	}
	if err := inFlight.Send(chunk(archive[:len(archive)/2])); err != nil {
		t.Fatal(err)
	}
	// The call is in before shutdown begins: the server read its headers,
	// and started its handler, before those of this later call on the
	// same connection, which has answered.
	if _, err := signer.GetTrustBundle(ctx, &signerv1.GetTrustBundleRequest{}); err != nil {
		t.Fatal(err)
	}

	stop() // SIGTERM
	if h, err := watch.Recv(); err != nil || h.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health after shutdown began: %v, %v; want NOT_SERVING", h, err)
	}
	// The listener still accepts: a new connection reads NOT_SERVING and
	// has its new call refused.
	fresh := dial(t, addr)
	if h, err := healthpb.NewHealthClient(fresh).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || h.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health on a new connection while draining: %v, %v; want NOT_SERVING", h, err)
	}
	if _, err := signerv1.NewSignerServiceClient(fresh).GetTrustBundle(ctx, &signerv1.GetTrustBundleRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("new call while draining: %v; want Unavailable", err)
	}

	// The call in flight finishes with a signature.
	if err := inFlight.Send(chunk(archive[len(archive)/2:])); err != nil {
		t.Fatal(err)
	}
	resp, err := inFlight.CloseAndRecv()
	if err != nil {
		t.Fatalf("call in flight during the drain: %v", err)
	}
	cert, err := chain.ParseCertificatePEM([]byte(resp.GetCertificatePem()))
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(cert.PublicKey.(ed25519.PublicKey), archive, resp.GetSignature()) {
		t.Fatal("the drained call's signature does not verify over the archive")
	}
	stopWatch()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := healthpb.NewHealthClient(dial(t, addr)).Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("health after Run returned: %v; want Unavailable (listener closed)", err)
	}

	store, err := ledger.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	e, err := store.Get(ctx, resp.GetEntryId())
	if err != nil {
		t.Fatalf("ledger entry %d of the drained call: %v", resp.GetEntryId(), err)
	}
	if sum := sha256.Sum256(archive); !bytes.Equal(e.Signature, resp.GetSignature()) || !bytes.Equal(e.SHA256, sum[:]) || e.KeyID != service.DevKeyName {
		t.Fatalf("ledger entry %+v does not hold the signature returned", e)
	}
}

// TestBuildRefusesBadConfig: a configuration Build cannot serve is refused
// with ErrConfig, naming the field, before anything is opened (the
// database URL points nowhere, so reaching it would fail differently).
func TestBuildRefusesBadConfig(t *testing.T) {
	base := func(t *testing.T) service.Config {
		cfg, err := service.DevConfig(rand.Reader, service.DevOptions{
			DataDir: t.TempDir(), Listen: "127.0.0.1:0", MaxArchiveSize: 1 << 20, LogLevel: "info",
		}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		cfg.DatabaseURL = "postgres://nobody@127.0.0.1:1/none"
		return cfg
	}
	tests := []struct {
		name   string
		change func(*service.Config)
		want   string
	}{
		{"plaintext off loopback", func(c *service.Config) { c.File.Listen = "0.0.0.0:7420" }, "tls:"},
		{"two-person rule waived off loopback", func(c *service.Config) {
			c.File.Listen = "10.0.0.1:7420"
			c.File.TLS.CertFile, c.File.TLS.KeyFile, c.File.TLS.ClientCAFile = "/tls/c.pem", "/tls/k.pem", "/tls/ca.pem"
		}, "single operator"},
		{"no root CA", func(c *service.Config) { c.File.Trust.Roots = nil }, "trust.roots"},
		{"no policy", func(c *service.Config) { c.File.Auth.Policy = nil }, "auth.policy_file"},
		{"bad log level", func(c *service.Config) { c.File.Log.Level = "loud" }, "log.level"},
		{"ledger key without checkpoint dir", func(c *service.Config) { c.File.Ledger.CheckpointDir = "" }, "ledger.checkpoint_dir"},
		{"key URI of an unconfigured backend", func(c *service.Config) { c.File.Keys.CA.URI = "awskms:key-id=x" }, "keys.ca.uri"},
		{"import without a certificate", func(c *service.Config) { c.Import.Cert = nil }, "import"},
		{"negative key poll", func(c *service.Config) { c.KeyPoll = -time.Second }, "key poll"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base(t)
			tc.change(&cfg)
			svc, err := service.Build(t.Context(), cfg)
			if err == nil {
				svc.Shutdown()
				t.Fatal("Build accepted the configuration")
			}
			if !errors.Is(err, service.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build: %v; want ErrConfig naming %q", err, tc.want)
			}
		})
	}
}

// TestDevConfigRefusesBadOptions: `signer dev` options that cannot make a
// development instance are refused before any file is created.
func TestDevConfigRefusesBadOptions(t *testing.T) {
	tests := []struct {
		name string
		o    service.DevOptions
		want string
	}{
		{"relative data dir", service.DevOptions{DataDir: "dev", Listen: "127.0.0.1:0"}, "absolute"},
		{"listen off loopback", service.DevOptions{Listen: "0.0.0.0:7420"}, "loopback"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.o.DataDir == "" {
				tc.o.DataDir = dir
			}
			_, err := service.DevConfig(rand.Reader, tc.o, time.Now())
			if !errors.Is(err, service.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DevConfig: %v; want ErrConfig naming %q", err, tc.want)
			}
			if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) > 0 {
				t.Fatalf("DevConfig created %v before refusing", files)
			}
		})
	}
}

// TestRunStoppedBeforeServing: a SIGTERM that lands as the service starts
// (its context already ended when Run begins) is the shutdown asked for:
// Run returns nil, not grpc's "server has been stopped", so `signer serve`
// exits 0 (it exited 1 when the signal beat Serve).
func TestRunStoppedBeforeServing(t *testing.T) {
	for range 5 {
		svc, err := service.Build(t.Context(), devConfig(t))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := svc.Run(ctx); err != nil {
			t.Fatalf("Run with its context already ended: %v, want nil", err)
		}
	}
}

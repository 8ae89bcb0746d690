package integration

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/appsign/signer/internal/pgtest"
)

// TestDevRefusesPlaintextOffLoopback: plaintext must never leave loopback.
func TestDevRefusesPlaintextOffLoopback(t *testing.T) {
	signer, _ := binaries(t)
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		r := run(t, signer, "dev", "--data-dir", t.TempDir(), "--listen", addr, "--database-url", "postgres://unused@127.0.0.1:1/x")
		if r.code != 2 || !strings.Contains(r.stderr, "loopback") {
			t.Errorf("signer dev --listen %s: exit %d, stderr %q; want exit 2 naming loopback", addr, r.code, r.stderr)
		}
	}
}

// TestDevOwnPostgres runs `signer dev` exactly as `make run` does: it starts
// its own throwaway PostgreSQL, serves, and shuts everything down on SIGTERM.
// A second start with the same data dir reuses the dev CA.
func TestDevOwnPostgres(t *testing.T) {
	requirePostgresBinaries(t)
	srv := startDev(t)
	work := t.TempDir()
	archive := writeArchive(t, work, "hello.jar", 4096, 7)
	mustSignerctl(t, "sign", "--server", srv.Addr, "--app-key", "com.example.hello", "--version", "1.0.0", archive)
	ts1 := filepath.Join(work, "ts1")
	mustSignerctl(t, "bundle", "get", "--server", srv.Addr, "--out", ts1)
	mustSignerctl(t, "verify", "--truststore", ts1, archive)
	if err := srv.Stop(); err != nil {
		t.Fatalf("signer dev did not exit cleanly on SIGTERM: %v\n%s", err, srv.stderr)
	}

	again := startDev(t, "--data-dir", srv.DataDir)
	ts2 := filepath.Join(work, "ts2")
	mustSignerctl(t, "bundle", "get", "--server", again.Addr, "--out", ts2)
	a, _ := filepath.Glob(filepath.Join(ts1, "*.pem"))
	b, _ := filepath.Glob(filepath.Join(ts2, "*.pem"))
	if strings.Join(base(a), ",") != strings.Join(base(b), ",") {
		t.Fatalf("dev CA changed across restarts: %v vs %v", base(a), base(b))
	}
	// The old signature still verifies against the reused CA.
	mustSignerctl(t, "verify", "--truststore", ts2, archive)
}

func base(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

// TestHealthAndReflection: the standard health service answers SERVING and
// server reflection lists our services (what grpcurl relies on).
func TestHealthAndReflection(t *testing.T) {
	srv := startDev(t, "--database-url", pgtest.URL(t))
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "signer.v1.SignerService"})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v; want SERVING", h.GetStatus(), err)
	}

	rs, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	must(t, err)
	must(t, rs.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}))
	resp, err := rs.Recv()
	must(t, err)
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"signer.v1.SignerService", "signer.v1.LedgerService", "grpc.health.v1.Health"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("reflection lists %v; missing %s", names, want)
		}
	}
}

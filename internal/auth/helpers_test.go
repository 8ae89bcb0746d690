package auth_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/server"
	"github.com/appsign/signer/internal/transport/transporttest"
)

const testPolicy = `
version: 1
trust_domain: appsign
identities:
  - id: spiffe://appsign/pipeline/review-1
    roles: [pipeline]
  - prefix: spiffe://appsign/security-admin/
    roles: [security-admin]
  - prefix: spiffe://appsign/auditor/
    roles: [auditor]
  - id: spiffe://appsign/vendor/acme/ci
    roles: [vendor]
    vendor: acme
    app_key_prefixes: [com.acme]
  - id: spiffe://appsign/vendor/globex/ci
    roles: []
`

func mustPolicy(t testing.TB, doc string) *auth.Policy {
	t.Helper()
	p, err := auth.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatalf("ParsePolicy: %v", err)
	}
	return p
}

// fakeSigner answers the signing RPCs with the caller's subject in KeyId,
// so tests see both that the call got through and who it was.
type fakeSigner struct {
	signerv1.UnimplementedSignerServiceServer
}

func (fakeSigner) SignArchive(stream grpc.ClientStreamingServer[signerv1.SignArchiveRequest, signerv1.SignArchiveResponse]) error {
	for {
		if _, err := stream.Recv(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
	}
	return stream.SendAndClose(&signerv1.SignArchiveResponse{KeyId: auth.Caller(stream.Context())})
}

func (fakeSigner) SignDigest(ctx context.Context, _ *signerv1.SignDigestRequest) (*signerv1.SignDigestResponse, error) {
	return &signerv1.SignDigestResponse{KeyId: auth.Caller(ctx)}, nil
}

// register adds every service the real signer serves: the signing service
// (fake), the others unimplemented, health and reflection.
func register(g *grpc.Server) {
	signerv1.RegisterSignerServiceServer(g, fakeSigner{})
	signerv1.RegisterKeyServiceServer(g, signerv1.UnimplementedKeyServiceServer{})
	signerv1.RegisterLedgerServiceServer(g, signerv1.UnimplementedLedgerServiceServer{})
	healthpb.RegisterHealthServer(g, health.NewServer())
	reflection.Register(g)
}

// mtlsServer serves on 127.0.0.1 with client certificates verified when
// given (so that anonymous callers reach the interceptors) and the MTLS
// authenticator. It returns the server and a dial function: no URIs means
// no client certificate.
func mtlsServer(t *testing.T, p *auth.Policy, extra ...func(*grpc.Server)) (*grpc.Server, func(uris ...string) *grpc.ClientConn) {
	t.Helper()
	ca := transporttest.NewCA(t, "clients and server")
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{ca.Server(t)},
		ClientCAs:    ca.Pool(),
		ClientAuth:   tls.VerifyClientCertIfGiven,
	}
	a := auth.NewAuthorizer(p, auth.NewMTLS(p), nil)
	g := grpc.NewServer(grpc.Creds(credentials.NewTLS(cfg)),
		grpc.ChainUnaryInterceptor(server.UnaryInterceptor(nil), a.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(server.StreamInterceptor(nil), a.StreamServerInterceptor()))
	register(g)
	for _, f := range extra {
		f(g)
	}
	addr := serve(t, g)
	dial := func(uris ...string) *grpc.ClientConn {
		c := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
		if len(uris) > 0 {
			cert := ca.Client(t, uris...)
			c.Certificates = []tls.Certificate{cert}
		}
		return dialConn(t, addr, grpc.WithTransportCredentials(credentials.NewTLS(c)))
	}
	return g, dial
}

func serve(t *testing.T, g *grpc.Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	return lis.Addr().String()
}

func dialConn(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func plaintext() grpc.DialOption { return grpc.WithTransportCredentials(insecure.NewCredentials()) }

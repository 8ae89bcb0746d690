package limits_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/limits"
	"github.com/appsign/signer/internal/server"
)

// slowSigner reads archives until the client closes and holds trust bundle
// calls until hold is closed.
type slowSigner struct {
	signerv1.UnimplementedSignerServiceServer
	hold    chan struct{}
	entered chan struct{}
}

func (s *slowSigner) SignArchive(stream grpc.ClientStreamingServer[signerv1.SignArchiveRequest, signerv1.SignArchiveResponse]) error {
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&signerv1.SignArchiveResponse{})
		}
		if err != nil {
			return err
		}
	}
}

func (s *slowSigner) GetTrustBundle(ctx context.Context, _ *signerv1.GetTrustBundleRequest) (*signerv1.GetTrustBundleResponse, error) {
	s.entered <- struct{}{}
	select {
	case <-s.hold:
		return &signerv1.GetTrustBundleResponse{}, nil
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// callerFromMetadata names the caller by an "x-caller" header, standing in
// for the authenticated identity.
func callerFromMetadata(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("x-caller"); len(v) == 1 {
		return v[0]
	}
	return "anonymous"
}

func startServer(t *testing.T, cfg limits.Config) (signerv1.SignerServiceClient, *slowSigner) {
	t.Helper()
	l, err := limits.New(cfg, callerFromMetadata)
	if err != nil {
		t.Fatal(err)
	}
	opts := append(l.ServerOptions(),
		grpc.ChainUnaryInterceptor(server.UnaryInterceptor(nil), l.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(server.StreamInterceptor(nil), l.StreamServerInterceptor()))
	g := grpc.NewServer(opts...)
	s := &slowSigner{hold: make(chan struct{}), entered: make(chan struct{}, 100)}
	signerv1.RegisterSignerServiceServer(g, s)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return signerv1.NewSignerServiceClient(conn), s
}

func asCaller(ctx context.Context, name string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "x-caller", name)
}

// TestStalledUploadEndsAtTheServerDeadline: a client that opens an upload
// without a deadline and then sends nothing gets DeadlineExceeded from the
// server's default deadline instead of holding a slot forever.
func TestStalledUploadEndsAtTheServerDeadline(t *testing.T) {
	client, _ := startServer(t, limits.Config{Methods: map[string]limits.Timeout{
		signerv1.SignerService_SignArchive_FullMethodName: {Default: 200 * time.Millisecond, Max: time.Second},
	}})
	for _, tt := range []struct {
		name        string
		sendAnyway  bool
		wantCode    codes.Code
		description string
	}{
		{"silent client", false, codes.DeadlineExceeded, "never sends"},
		{"client stops mid-upload", true, codes.DeadlineExceeded, "sends metadata then stalls"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stream, err := client.SignArchive(asCaller(t.Context(), "pipeline"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.sendAnyway {
				_ = stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Chunk{Chunk: []byte("PK")}})
			}
			var resp signerv1.SignArchiveResponse
			err = stream.RecvMsg(&resp) // blocks until the server ends the call
			if status.Code(err) != tt.wantCode {
				t.Fatalf("%s: %v, want %v", tt.description, err, tt.wantCode)
			}
		})
	}
	// The slots were released: a well-behaved upload still works.
	stream, err := client.SignArchive(asCaller(t.Context(), "pipeline"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.CloseAndRecv(); err != nil {
		t.Fatalf("upload after stalled ones: %v", err)
	}
}

// TestOverloadOverTheWire: refusals reach the client with their codes and
// retry hints, and none of the refused calls waits.
func TestOverloadOverTheWire(t *testing.T) {
	client, s := startServer(t, limits.Config{MaxConcurrentPerIdentity: 2, MaxInFlight: 3, Rate: 1000, Burst: 1000})
	var wg sync.WaitGroup
	hold := func(who string) {
		wg.Go(func() {
			if _, err := client.GetTrustBundle(asCaller(t.Context(), who), &signerv1.GetTrustBundleRequest{}); err != nil {
				t.Errorf("held call of %s: %v", who, err)
			}
		})
		<-s.entered
	}
	hold("alice")
	hold("alice")
	_, err := client.GetTrustBundle(asCaller(t.Context(), "alice"), &signerv1.GetTrustBundleRequest{})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("alice's third call: %v, want ResourceExhausted", err)
	}
	if _, has := limits.RetryDelay(err); !has {
		t.Fatalf("no retry hint on the wire: %v", err)
	}
	hold("bob")
	_, err = client.GetTrustBundle(asCaller(t.Context(), "carol"), &signerv1.GetTrustBundleRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("carol on a full server: %v, want Unavailable", err)
	}
	close(s.hold)
	wg.Wait()
}

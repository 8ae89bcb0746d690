package auth_test

import (
	"crypto/tls"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/server"
	"github.com/appsign/signer/internal/transport/transporttest"
)

// carelessSigner is a streaming handler with the bugs the interceptor must
// survive: it ignores the error of every Recv and Send (so it never sees a
// refusal) and reports success, or it fails on its own with errCode.
type carelessSigner struct {
	signerv1.UnimplementedSignerServiceServer
	errCode codes.Code
}

func (c carelessSigner) SignArchive(stream grpc.ClientStreamingServer[signerv1.SignArchiveRequest, signerv1.SignArchiveResponse]) error {
	_, _ = stream.Recv()
	_ = stream.SendAndClose(&signerv1.SignArchiveResponse{KeyId: "signed anyway"})
	if c.errCode != codes.OK {
		return status.Error(c.errCode, "handler failed")
	}
	return nil
}

// TestStreamRefusalReachesTheCaller: a request refused by the signing rule
// on its first message is refused to the caller, whatever the handler made
// of it; and a permitted stream's own error reaches the caller unchanged.
func TestStreamRefusalReachesTheCaller(t *testing.T) {
	const pipeline = "spiffe://appsign/pipeline/review-1"
	private, market := signerv1.Track_TRACK_PRIVATE_BUILD, signerv1.Track_TRACK_MARKETPLACE
	tests := []struct {
		name    string
		errCode codes.Code // the handler's own failure
		track   signerv1.Track
		want    codes.Code
	}{
		{"refused request, handler ignores the refusal", codes.OK, private, codes.PermissionDenied},
		{"refused request, handler fails too", codes.Aborted, private, codes.PermissionDenied},
		{"permitted request, handler fails", codes.Aborted, market, codes.Aborted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dial := carelessServer(t, carelessSigner{errCode: tt.errCode})
			client := signerv1.NewSignerServiceClient(dial(pipeline))
			stream, err := client.SignArchive(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			_ = stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Metadata{Metadata: &signerv1.SignArchiveMetadata{AppKey: "com.acme.app", Track: tt.track}}})
			resp, err := stream.CloseAndRecv()
			if got := status.Code(err); got != tt.want {
				t.Fatalf("SignArchive = %v, %v; want %v", resp, err, tt.want)
			}
		})
	}
}

// carelessServer is mtlsServer with s as the signing service.
func carelessServer(t *testing.T, s signerv1.SignerServiceServer) func(uri string) *grpc.ClientConn {
	t.Helper()
	p := mustPolicy(t, testPolicy)
	ca := transporttest.NewCA(t, "clients and server")
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{ca.Server(t)},
		ClientCAs:    ca.Pool(),
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}
	a := auth.NewAuthorizer(p, auth.NewMTLS(p), nil)
	g := grpc.NewServer(grpc.Creds(credentials.NewTLS(cfg)), grpc.ChainStreamInterceptor(server.StreamInterceptor(nil), a.StreamServerInterceptor()))
	signerv1.RegisterSignerServiceServer(g, s)
	addr := serve(t, g)
	return func(uri string) *grpc.ClientConn {
		c := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", Certificates: []tls.Certificate{ca.Client(t, uri)}}
		return dialConn(t, addr, grpc.WithTransportCredentials(credentials.NewTLS(c)))
	}
}

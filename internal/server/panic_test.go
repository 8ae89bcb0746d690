package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/server"
)

// panicSecret is what the faulty ledger panics with: text the client must
// never see (a panic value may hold anything, a secret included).
const panicSecret = "panic value with a secret: postgres://admin:hunter2@db"

// panickyLedger is the real PostgreSQL ledger with one fault: recording
// the request with idempotency key "boom" panics, as a bug in a handler's
// path would.
type panickyLedger struct{ *ledger.Store }

func (p panickyLedger) Record(ctx context.Context, e ledger.Entry) (ledger.Entry, bool, error) {
	if e.IdempotencyKey == "boom" {
		panic(panicSecret)
	}
	return p.Store.Record(ctx, e)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestHandlerPanicIsInternalWithRequestID makes a handler panic, in a
// streaming call (SignArchive) and a unary one (SignDigest). The client
// gets Internal with only a request id (the one in its x-request-id
// response header), never the panic value; the log has the panic with
// that request id; nothing is recorded for the call; and the server stays
// up: health SERVING, the next calls sign.
func TestHandlerPanicIsInternalWithRequestID(t *testing.T) {
	ctx := t.Context()
	store, pki := newLedgerAndPKI(t, t.TempDir())
	reg, err := kms.NewRegistry(softkms.New(softkms.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := reg.LoadSigner(ctx, kms.NewURI(softkms.Scheme, map[string]string{"path": pki.SigningKeyPath}))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv, err := server.New(ctx, server.Config{
		Ledger:   panickyLedger{store},
		Keys:     staticKeys{Key: &server.SigningKey{ID: "test-signing", Version: 1, Signer: signer, Cert: pki.Signing}},
		Trust:    server.Trust{Roots: []*x509Cert{pki.Root}, Intermediates: []*x509Cert{pki.Intermediate}},
		SpoolDir: t.TempDir(),
		Logger:   slog.New(slog.NewJSONHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	conn := dial(t, srv)
	client := signerv1.NewSignerServiceClient(conn)
	srv.Health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)

	archive := []byte("PK a panicking archive")
	s256, s512 := sha256.Sum256(archive), sha512.Sum512(archive)
	calls := []struct {
		name string
		call func(ctx context.Context, idem string, opts ...grpc.CallOption) error
	}{
		{"streaming SignArchive", func(ctx context.Context, idem string, opts ...grpc.CallOption) error {
			stream, err := client.SignArchive(ctx, opts...)
			if err != nil {
				return err
			}
			_ = stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Metadata{Metadata: &signerv1.SignArchiveMetadata{
				AppKey: "com.example.panic", Version: "1.0.0", Track: signerv1.Track_TRACK_MARKETPLACE, ReviewRef: "r", IdempotencyKey: idem,
			}}})
			_ = stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Chunk{Chunk: archive}})
			_, err = stream.CloseAndRecv()
			return err
		}},
		{"unary SignDigest", func(ctx context.Context, idem string, opts ...grpc.CallOption) error {
			_, err := client.SignDigest(ctx, &signerv1.SignDigestRequest{
				AppKey: "com.example.panic", Version: "2.0.0", Track: signerv1.Track_TRACK_MARKETPLACE, ReviewRef: "r",
				IdempotencyKey: idem, ArchiveSize: int64(len(archive)), Sha256: s256[:], Sha512: s512[:],
			}, opts...)
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			var header metadata.MD
			err := c.call(t.Context(), "boom", grpc.Header(&header))
			st, _ := status.FromError(err)
			if st.Code() != codes.Internal {
				t.Fatalf("panicking call: %v, want Internal", err)
			}
			ids := header.Get(server.RequestIDHeader)
			if len(ids) != 1 || st.Message() != "internal error (request id "+ids[0]+")" {
				t.Fatalf("message %q, header request ids %v: want only the request id", st.Message(), ids)
			}
			var logged bool
			for line := range strings.Lines(logs.String()) {
				logged = logged || strings.Contains(line, `"msg":"panic in handler"`) && strings.Contains(line, `"request_id":"`+ids[0]+`"`)
			}
			if !logged {
				t.Fatalf("no log line of the panic with request id %s:\n%s", ids[0], logs.String())
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the panic value reached the client: %v", err)
			}
			if _, err := store.FindByIdempotencyKey(t.Context(), "anonymous", "boom"); err == nil {
				t.Fatal("a ledger entry was recorded for the panicking call")
			}
			// The service is still up: health answers SERVING and the next
			// call signs.
			resp, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
			if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("health after the panic: %v %v", resp.GetStatus(), err)
			}
			if err := c.call(t.Context(), "after-panic-"+strings.ReplaceAll(c.name, " ", "-")); err != nil {
				t.Fatalf("the call after the panic: %v", err)
			}
		})
	}
}

package server_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/server"
)

// roleIdentities stand in for the mTLS authenticator (tested in
// internal/auth): the caller names its role in metadata.
var roleIdentities = map[string]auth.Identity{
	"pipeline": {Subject: "spiffe://appsign/pipeline/review-1", Roles: []auth.Role{auth.RolePipeline}},
	"vendor":   {Subject: "spiffe://appsign/vendor/acme/ci", Roles: []auth.Role{auth.RoleVendor}, Vendor: "acme", AppKeyPrefixes: []string{"com.acme"}},
}

func asRole(ctx context.Context, role string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "x-test-role", role)
}

func identityFromMetadata(ctx context.Context) context.Context {
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("x-test-role")) == 1 {
		if id, ok := roleIdentities[md.Get("x-test-role")[0]]; ok {
			return auth.ContextWithIdentity(ctx, id)
		}
	}
	return ctx
}

type identityStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s identityStream) Context() context.Context { return s.ctx }

// TestSignerMakesMarketplaceSignaturesOnly: every signature the service
// makes chains to the marketplace CA, so the handlers themselves (not only
// the method table) refuse a vendor identity and the private-build track,
// single and in a batch, and nothing is recorded for a refusal. Issue 11,
// finding 1.
func TestSignerMakesMarketplaceSignaturesOnly(t *testing.T) {
	ctx := t.Context()
	store, pki := newLedgerAndPKI(t, t.TempDir())
	reg, err := kms.NewRegistry(softkms.New(softkms.Options{}))
	must(t, err)
	signer, err := reg.LoadSigner(ctx, kms.NewURI(softkms.Scheme, map[string]string{"path": pki.SigningKeyPath}))
	must(t, err)
	srv, err := server.New(ctx, server.Config{
		Ledger:   store,
		Keys:     staticKeys{Key: &server.SigningKey{ID: "test-signing", Version: 1, Signer: signer, Cert: pki.Signing}},
		Trust:    server.Trust{Roots: []*x509Cert{pki.Root}, Intermediates: []*x509Cert{pki.Intermediate}},
		SpoolDir: t.TempDir(),
		Caller:   auth.Caller,
	},
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return h(identityFromMetadata(ctx), req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			return h(srv, identityStream{ss, identityFromMetadata(ss.Context())})
		}))
	must(t, err)
	conn := dial(t, srv)
	client, batch := signerv1.NewSignerServiceClient(conn), signerv1.NewBatchServiceClient(conn)
	archive := []byte("PK an archive someone wants signed")

	signArchive := func(ctx context.Context, track signerv1.Track, idem string) (*signerv1.SignArchiveResponse, error) {
		stream, err := client.SignArchive(ctx)
		must(t, err)
		m := meta("com.acme.app", "1.0.0", idem)
		m.GetMetadata().Track = track
		_ = stream.Send(m)
		_ = stream.Send(chunk(archive))
		return stream.CloseAndRecv()
	}
	signDigest := func(ctx context.Context, track signerv1.Track, idem string) error {
		req := digestReq(archive, idem)
		req.AppKey, req.Track = "com.acme.app", track
		_, err := client.SignDigest(ctx, req)
		return err
	}
	signBatch := func(ctx context.Context, track signerv1.Track, idem string) error {
		req := digestReq(archive, idem)
		req.AppKey, req.Track = "com.acme.app", track
		resp, err := batch.SignBatch(ctx, &signerv1.SignBatchRequest{Items: []*signerv1.BatchItem{{Item: &signerv1.BatchItem_Digest{Digest: req}}}})
		if err != nil {
			return err
		}
		if e := resp.GetResults()[0].GetError(); e != nil {
			return status.Error(codes.Code(e.GetCode()), e.GetMessage())
		}
		return nil
	}
	market, private := signerv1.Track_TRACK_MARKETPLACE, signerv1.Track_TRACK_PRIVATE_BUILD
	refusals := []struct {
		name string
		call func() error
	}{
		{"vendor asks for a marketplace archive signature", func() error {
			_, err := signArchive(asRole(ctx, "vendor"), market, "v-1")
			return err
		}},
		{"vendor asks for a private-build archive signature", func() error {
			_, err := signArchive(asRole(ctx, "vendor"), private, "v-2")
			return err
		}},
		{"vendor asks for a marketplace digest signature", func() error { return signDigest(asRole(ctx, "vendor"), market, "v-3") }},
		{"vendor asks for a private-build digest signature", func() error { return signDigest(asRole(ctx, "vendor"), private, "v-4") }},
		{"vendor sends a batch", func() error { return signBatch(asRole(ctx, "vendor"), market, "v-5") }},
		{"pipeline asks for a private-build archive signature", func() error {
			_, err := signArchive(asRole(ctx, "pipeline"), private, "p-1")
			return err
		}},
		{"pipeline asks for a private-build digest signature", func() error { return signDigest(asRole(ctx, "pipeline"), private, "p-2") }},
		{"pipeline batches a private-build digest", func() error { return signBatch(asRole(ctx, "pipeline"), private, "p-3") }},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			if code := status.Code(r.call()); code != codes.PermissionDenied {
				t.Fatalf("code %v, want PermissionDenied", code)
			}
		})
	}
	if n := countEntries(t, store); n != 0 {
		t.Fatalf("refused requests left %d ledger entries", n)
	}

	// The pipeline's marketplace signature: recorded with its review
	// reference, chaining to the marketplace CA.
	resp, err := signArchive(asRole(ctx, "pipeline"), market, "p-ok")
	must(t, err)
	entry, err := store.Get(ctx, resp.GetEntryId())
	must(t, err)
	if entry.ReviewRef != "review-1" || entry.Caller != roleIdentities["pipeline"].Subject {
		t.Errorf("entry review_ref %q caller %q; want review-1 and the pipeline", entry.ReviewRef, entry.Caller)
	}
	sf, err := chain.ParseSignatureFile(resp.GetSignatureFile())
	must(t, err)
	ts := chain.NewTrustStore(pki.Root, pki.Intermediate)
	res, err := ts.Verify(ctx, sf, bytes.NewReader(archive), time.Now())
	must(t, err)
	path, err := ts.VerifySigningCertificate(res.Certificate, time.Now())
	must(t, err)
	if o := chain.OriginOfChain(path, res.FromTrustStore); o != chain.OriginMarketplace {
		t.Errorf("pipeline signature origin %q, want marketplace", o)
	}
}

func countEntries(t *testing.T, store *ledger.Store) int {
	t.Helper()
	entries, err := store.List(t.Context(), ledger.Filter{Limit: 1000})
	must(t, err)
	return len(entries)
}

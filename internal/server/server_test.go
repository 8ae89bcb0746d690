package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/server"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is one server on an in-memory connection with a real ledger.
type env struct {
	client signerv1.SignerServiceClient
	ledger signerv1.LedgerServiceClient
	store  *ledger.Store
	trust  *chain.TrustStore
	pki    *chain.DevPKI
}

// flakyLedger fails Record on demand, to prove no signature escapes a failed commit.
type flakyLedger struct {
	*ledger.Store
	mu   sync.Mutex
	fail error
}

func (f *flakyLedger) Record(ctx context.Context, e ledger.Entry) (ledger.Entry, bool, error) {
	f.mu.Lock()
	err := f.fail
	f.mu.Unlock()
	if err != nil {
		return ledger.Entry{}, false, err
	}
	return f.Store.Record(ctx, e)
}

func newEnv(t *testing.T, maxSize int64, wrap func(*ledger.Store) server.Ledger) *env {
	t.Helper()
	return newEnvWithKey(t, maxSize, wrap, nil)
}

// keyFactory makes the signing key of a test server; pkiDir holds the dev
// PKI whose intermediate CA issues its certificate.
type keyFactory func(t *testing.T, pki *chain.DevPKI, pkiDir string) *server.SigningKey

func newEnvWithKey(t *testing.T, maxSize int64, wrap func(*ledger.Store) server.Ledger, makeKey keyFactory) *env {
	t.Helper()
	ctx := t.Context()
	url := pgtest.URL(t)
	if err := ledger.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	store, err := ledger.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	dir := t.TempDir()
	pki, err := chain.EnsureDevPKI(rand.Reader, dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	reg, err := kms.NewRegistry(softkms.New(softkms.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := reg.LoadSigner(ctx, kms.NewURI(softkms.Scheme, map[string]string{"path": pki.SigningKeyPath}))
	if err != nil {
		t.Fatal(err)
	}
	key := &server.SigningKey{ID: "test-signing", Version: 1, Signer: signer, Cert: pki.Signing}
	if makeKey != nil {
		key = makeKey(t, pki, dir)
	}
	var l server.Ledger = store
	if wrap != nil {
		l = wrap(store)
	}
	srv, err := server.New(ctx, server.Config{
		Ledger:         l,
		Keys:           staticKeys{Key: key},
		Trust:          server.Trust{Roots: []*x509Cert{pki.Root}, Intermediates: []*x509Cert{pki.Intermediate}},
		SpoolDir:       t.TempDir(),
		MaxArchiveSize: maxSize,
		Caller:         func(context.Context) string { return "test-pipeline" },
	})
	if err != nil {
		t.Fatal(err)
	}
	conn := dial(t, srv)
	return &env{
		client: signerv1.NewSignerServiceClient(conn),
		ledger: signerv1.NewLedgerServiceClient(conn),
		store:  store,
		trust:  chain.NewTrustStore(pki.Root, pki.Intermediate),
		pki:    pki,
	}
}

func meta(appKey, version, idem string) *signerv1.SignArchiveRequest {
	return &signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Metadata{Metadata: &signerv1.SignArchiveMetadata{
		AppKey: appKey, Version: version, Track: signerv1.Track_TRACK_MARKETPLACE, ReviewRef: "review-1", IdempotencyKey: idem,
	}}}
}

func chunk(b []byte) *signerv1.SignArchiveRequest {
	return &signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Chunk{Chunk: b}}
}

// send streams msgs and returns the result.
func (e *env) send(t *testing.T, msgs ...*signerv1.SignArchiveRequest) (*signerv1.SignArchiveResponse, error) {
	t.Helper()
	stream, err := e.client.SignArchive(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			break // the server ended the call; CloseAndRecv says why
		}
	}
	return stream.CloseAndRecv()
}

func (e *env) rows(t *testing.T) int {
	t.Helper()
	entries, err := e.store.List(t.Context(), ledger.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestSignArchiveRecordsAndVerifies(t *testing.T) {
	e := newEnv(t, 0, nil)
	archive := bytes.Repeat([]byte("archive bytes "), 100000) // 1.4 MB, several chunks
	var msgs []*signerv1.SignArchiveRequest
	msgs = append(msgs, meta("com.example.app", "1.0.0", "k1"))
	for off := 0; off < len(archive); off += 256 << 10 {
		msgs = append(msgs, chunk(archive[off:min(off+256<<10, len(archive))]))
	}
	resp, err := e.send(t, msgs...)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(archive)
	if !bytes.Equal(resp.GetSha256(), sum[:]) || resp.GetArchiveSize() != int64(len(archive)) {
		t.Fatalf("digest/size mismatch in response")
	}
	if !ed25519.Verify(e.pki.Signing.PublicKey.(ed25519.PublicKey), archive, resp.GetSignature()) {
		t.Fatal("raw signature does not verify with crypto/ed25519")
	}
	sf, err := chain.ParseSignatureFile(resp.GetSignatureFile())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.trust.Verify(t.Context(), sf, bytes.NewReader(archive), time.Now()); err != nil {
		t.Fatalf("signature file does not verify against the dev trust store: %v", err)
	}
	got, err := e.store.Get(t.Context(), resp.GetEntryId())
	if err != nil {
		t.Fatalf("ledger has no entry %d: %v", resp.GetEntryId(), err)
	}
	if !bytes.Equal(got.Signature, resp.GetSignature()) || got.Caller != "test-pipeline" || got.KeyID != "test-signing" || got.KeyVersion != 1 {
		t.Fatalf("ledger entry %+v does not match the response", got)
	}
	res, err := e.trust.Verify(t.Context(), sf, bytes.NewReader(archive), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got.CertSerial != res.Serial {
		t.Fatalf("ledger cert serial %s, verifier reports %s", got.CertSerial, res.Serial)
	}
}

func TestSignArchiveRejectsBadInput(t *testing.T) {
	e := newEnv(t, 4096, nil)
	okMeta := meta("com.example.app", "1.0.0", "key-1")
	withMeta := func(f func(m *signerv1.SignArchiveMetadata)) *signerv1.SignArchiveRequest {
		m := meta("com.example.app", "1.0.0", "key-1")
		f(m.GetMetadata())
		return m
	}
	tests := []struct {
		name    string
		msgs    []*signerv1.SignArchiveRequest
		code    codes.Code
		message string
	}{
		{"no messages", nil, codes.InvalidArgument, "empty request stream"},
		{"chunk before metadata", []*signerv1.SignArchiveRequest{chunk([]byte("x")), okMeta}, codes.InvalidArgument, "first message must carry metadata"},
		{"metadata twice", []*signerv1.SignArchiveRequest{okMeta, chunk([]byte("x")), okMeta}, codes.InvalidArgument, "metadata sent twice"},
		{"empty archive", []*signerv1.SignArchiveRequest{okMeta}, codes.InvalidArgument, "archive is empty"},
		{"oversize archive", []*signerv1.SignArchiveRequest{okMeta, chunk(make([]byte, 4000)), chunk(make([]byte, 97))}, codes.InvalidArgument, "maximum size of 4096"},
		{"unknown track", []*signerv1.SignArchiveRequest{withMeta(func(m *signerv1.SignArchiveMetadata) { m.Track = 9 }), chunk([]byte("x"))}, codes.InvalidArgument, "unknown track"},
		{"unspecified track", []*signerv1.SignArchiveRequest{withMeta(func(m *signerv1.SignArchiveMetadata) { m.Track = 0 }), chunk([]byte("x"))}, codes.InvalidArgument, "track is required"},
		{"bad app key", []*signerv1.SignArchiveRequest{withMeta(func(m *signerv1.SignArchiveMetadata) { m.AppKey = "nodots" }), chunk([]byte("x"))}, codes.InvalidArgument, "reverse-DNS"},
		{"long app key", []*signerv1.SignArchiveRequest{withMeta(func(m *signerv1.SignArchiveMetadata) { m.AppKey = "com." + strings.Repeat("a", 300) }), chunk([]byte("x"))}, codes.InvalidArgument, "longer than"},
		{"bad version", []*signerv1.SignArchiveRequest{withMeta(func(m *signerv1.SignArchiveMetadata) { m.Version = "latest" }), chunk([]byte("x"))}, codes.InvalidArgument, "start with a digit"},
		{"no idempotency key", []*signerv1.SignArchiveRequest{withMeta(func(m *signerv1.SignArchiveMetadata) { m.IdempotencyKey = "" }), chunk([]byte("x"))}, codes.InvalidArgument, "idempotency_key is required"},
		{"no review ref", []*signerv1.SignArchiveRequest{withMeta(func(m *signerv1.SignArchiveMetadata) { m.ReviewRef = "" }), chunk([]byte("x"))}, codes.InvalidArgument, "review_ref is required"},
		{"short expected digest", []*signerv1.SignArchiveRequest{withMeta(func(m *signerv1.SignArchiveMetadata) { m.ExpectedSha256 = []byte{1, 2} }), chunk([]byte("x"))}, codes.InvalidArgument, "32 bytes"},
		{"archive posing as a digest statement", []*signerv1.SignArchiveRequest{okMeta, chunk([]byte("appsign.dev/digest-statement/v1\napp-key x\n"))}, codes.InvalidArgument, "reserved for digest statements"},
		{"expected digest mismatch", []*signerv1.SignArchiveRequest{withMeta(func(m *signerv1.SignArchiveMetadata) { m.ExpectedSha256 = make([]byte, 32) }), chunk([]byte("x"))}, codes.InvalidArgument, "expected_sha256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.send(t, tt.msgs...)
			st := status.Convert(err)
			if st.Code() != tt.code || !strings.Contains(st.Message(), tt.message) {
				t.Fatalf("got %v %q; want %v containing %q", st.Code(), st.Message(), tt.code, tt.message)
			}
		})
	}
	if n := e.rows(t); n != 0 {
		t.Fatalf("rejected requests left %d ledger rows", n)
	}
}

func TestIdempotency(t *testing.T) {
	e := newEnv(t, 0, nil)
	first, err := e.send(t, meta("com.example.app", "1.0.0", "idem-1"), chunk([]byte("archive A")))
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.send(t, meta("com.example.app", "1.0.0", "idem-1"), chunk([]byte("archive A")))
	if err != nil {
		t.Fatal(err)
	}
	if !again.GetReplayed() || again.GetEntryId() != first.GetEntryId() || !bytes.Equal(again.GetSignatureFile(), first.GetSignatureFile()) {
		t.Fatalf("replay returned entry %d (replayed=%v), first %d", again.GetEntryId(), again.GetReplayed(), first.GetEntryId())
	}
	_, err = e.send(t, meta("com.example.app", "1.0.0", "idem-1"), chunk([]byte("archive B")))
	if status.Code(err) != codes.AlreadyExists {
		t.Fatalf("other archive under a used key: %v, want AlreadyExists", err)
	}
	_, err = e.send(t, meta("com.example.app", "1.0.1", "idem-1"), chunk([]byte("archive A")))
	if status.Code(err) != codes.AlreadyExists {
		t.Fatalf("other version under a used key: %v, want AlreadyExists", err)
	}
	if n := e.rows(t); n != 1 {
		t.Fatalf("ledger has %d rows, want 1", n)
	}
}

// TestConcurrentRetriesOneEntry: racing retries with one key make one row.
func TestConcurrentRetriesOneEntry(t *testing.T) {
	e := newEnv(t, 0, nil)
	var wg sync.WaitGroup
	ids := make(chan int64, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := e.send(t, meta("com.example.app", "3.0.0", "race"), chunk([]byte("same archive")))
			if err != nil {
				t.Error(err)
				return
			}
			ids <- resp.GetEntryId()
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[int64]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 || e.rows(t) != 1 {
		t.Fatalf("concurrent retries produced entries %v and %d rows; want one", seen, e.rows(t))
	}
}

// TestLedgerFailureReturnsNoSignature: if the row does not commit, the
// caller gets Unavailable and no signature.
func TestLedgerFailureReturnsNoSignature(t *testing.T) {
	var fl *flakyLedger
	e := newEnv(t, 0, func(s *ledger.Store) server.Ledger {
		fl = &flakyLedger{Store: s, fail: errors.Join(ledger.ErrUnavailable, errors.New("connection reset"))}
		return fl
	})
	resp, err := e.send(t, meta("com.example.app", "1.0.0", "k"), chunk([]byte("archive")))
	if status.Code(err) != codes.Unavailable || resp != nil {
		t.Fatalf("got %v, %v; want Unavailable and no response", resp, err)
	}
	if strings.Contains(status.Convert(err).Message(), "connection reset") {
		t.Fatalf("internal cause leaked to the client: %q", status.Convert(err).Message())
	}
	fl.mu.Lock()
	fl.fail = nil
	fl.mu.Unlock()
	if _, err := e.send(t, meta("com.example.app", "1.0.0", "k"), chunk([]byte("archive"))); err != nil {
		t.Fatalf("retry after recovery: %v", err)
	}
}

func TestLedgerReads(t *testing.T) {
	e := newEnv(t, 0, nil)
	for i, v := range []string{"1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4"} {
		app := "com.example.one"
		if i%2 == 1 {
			app = "com.example.two"
		}
		if _, err := e.send(t, meta(app, v, "k-"+v), chunk([]byte(v))); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	token := ""
	for {
		resp, err := e.ledger.ListEntries(t.Context(), &signerv1.ListEntriesRequest{AppKey: "com.example.one", PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range resp.GetEntries() {
			got = append(got, en.GetVersion())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if strings.Join(got, ",") != "1.0.0,1.0.2,1.0.4" {
		t.Fatalf("paged list = %v", got)
	}
	first, _ := e.ledger.ListEntries(t.Context(), &signerv1.ListEntriesRequest{AppKey: "com.example.one", PageSize: 1})
	tests := []struct {
		name string
		req  *signerv1.ListEntriesRequest
		code codes.Code
	}{
		{"token for other filter", &signerv1.ListEntriesRequest{AppKey: "com.example.two", PageToken: first.GetNextPageToken()}, codes.InvalidArgument},
		{"garbage token", &signerv1.ListEntriesRequest{PageToken: "!!"}, codes.InvalidArgument},
		{"page too big", &signerv1.ListEntriesRequest{PageSize: 5000}, codes.InvalidArgument},
		{"bad app key", &signerv1.ListEntriesRequest{AppKey: "x y"}, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.ledger.ListEntries(t.Context(), tt.req); status.Code(err) != tt.code {
				t.Fatalf("got %v, want %v", err, tt.code)
			}
		})
	}
	if _, err := e.ledger.GetEntry(t.Context(), &signerv1.GetEntryRequest{Id: 999999}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetEntry(missing) = %v, want NotFound", err)
	}
	if _, err := e.ledger.GetEntry(t.Context(), &signerv1.GetEntryRequest{Id: 0}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("GetEntry(0) = %v, want InvalidArgument", err)
	}
}

func TestTrustBundle(t *testing.T) {
	e := newEnv(t, 0, nil)
	resp, err := e.client.GetTrustBundle(t.Context(), &signerv1.GetTrustBundleRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetCertificates()) != 2 || resp.GetCertificates()[0].GetRole() != "root" || resp.GetCertificates()[1].GetRole() != "intermediate" {
		t.Fatalf("bundle = %v", resp.GetCertificates())
	}
	for _, c := range resp.GetCertificates() {
		sum := sha256.Sum256([]byte(c.GetPem()))
		if c.GetSha256() != hexString(sum[:]) {
			t.Errorf("%s: sha256 field does not match the PEM", c.GetFileName())
		}
	}
}

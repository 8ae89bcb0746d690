package server_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/metrics"
	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/server"
	"github.com/appsign/signer/internal/statement"
)

// batchEnv is a server with metrics on, reached through BatchService.
type batchEnv struct {
	batch   signerv1.BatchServiceClient
	signer  signerv1.SignerServiceClient
	store   *ledger.Store
	metrics *metrics.Metrics
	pki     *chain.DevPKI
	url     string // the ledger database
}

func newBatchEnv(t *testing.T) *batchEnv {
	t.Helper()
	return newBatchEnvWrapped(t, func(s kms.Signer) kms.Signer { return s })
}

// newBatchEnvWrapped is newBatchEnv with the signing key wrapped (a faulty
// backend, say).
func newBatchEnvWrapped(t testing.TB, wrap func(kms.Signer) kms.Signer) *batchEnv {
	t.Helper()
	return newBatchEnvLedger(t, wrap, func(s *ledger.Store) server.Ledger { return s })
}

// newBatchEnvLedger is newBatchEnvWrapped with the ledger the server sees
// made by wrapLedger from the store.
func newBatchEnvLedger(t testing.TB, wrap func(kms.Signer) kms.Signer, wrapLedger func(*ledger.Store) server.Ledger) *batchEnv {
	t.Helper()
	ctx := t.Context()
	url := pgtest.URL(t)
	must(t, ledger.Migrate(ctx, url))
	store, err := ledger.Open(ctx, url)
	must(t, err)
	t.Cleanup(store.Close)
	pki, err := chain.EnsureDevPKI(rand.Reader, t.TempDir(), time.Now())
	must(t, err)
	reg, err := kms.NewRegistry(softkms.New(softkms.Options{}))
	must(t, err)
	signer, err := reg.LoadSigner(ctx, kms.NewURI(softkms.Scheme, map[string]string{"path": pki.SigningKeyPath}))
	must(t, err)
	signer = wrap(signer)
	m := metrics.New()
	srv, err := server.New(ctx, server.Config{
		Ledger:   wrapLedger(store),
		Keys:     staticKeys{Key: &server.SigningKey{ID: "batch-signing", Version: 1, Signer: signer, Cert: pki.Signing}},
		Trust:    server.Trust{Roots: []*x509Cert{pki.Root}, Intermediates: []*x509Cert{pki.Intermediate}},
		SpoolDir: t.TempDir(),
		Caller:   func(context.Context) string { return "test-pipeline" },
		Metrics:  m,
	})
	must(t, err)
	conn := dial(t, srv)
	return &batchEnv{batch: signerv1.NewBatchServiceClient(conn), signer: signerv1.NewSignerServiceClient(conn), store: store, metrics: m, pki: pki, url: url}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func digestItem(archive []byte, idem string) *signerv1.BatchItem {
	return &signerv1.BatchItem{Item: &signerv1.BatchItem_Digest{Digest: digestReq(archive, idem)}}
}

func archiveItem(archive []byte, idem string) *signerv1.BatchItem {
	return &signerv1.BatchItem{Item: &signerv1.BatchItem_Archive{Archive: &signerv1.BatchArchive{
		Metadata: meta("com.example.batch", "1.0.0", idem).GetMetadata(), Content: archive,
	}}}
}

// TestSignBatch sends one batch mixing good and bad items: good items are
// signed and recorded as their single-item RPC would do it, bad ones fail
// alone with that RPC's code, and a key repeated in the batch makes one
// entry.
func TestSignBatch(t *testing.T) {
	e := newBatchEnv(t)
	small := []byte("PK small archive for the batch test")
	// Items of one batch run concurrently, so a key's first use must come
	// from an earlier call for "same key, other archive" to be the loser.
	first, err := e.batch.SignBatch(t.Context(), &signerv1.SignBatchRequest{Items: []*signerv1.BatchItem{archiveItem([]byte("PK first archive"), "a-0")}})
	must(t, err)
	if first.GetResults()[0].GetError() != nil {
		t.Fatalf("first batch: %v", first.GetResults()[0].GetError())
	}
	badDigest := digestReq(small, "bad-digest")
	badDigest.Sha512 = badDigest.Sha512[:10]
	items := []struct {
		name     string
		item     *signerv1.BatchItem
		wantCode codes.Code // OK: signed
	}{
		{"digest", digestItem(small, "d-1"), codes.OK},
		{"archive", archiveItem(small, "a-1"), codes.OK},
		{"same key again in the batch", digestItem(small, "d-1"), codes.OK},
		{"digest with a short sha512", &signerv1.BatchItem{Item: &signerv1.BatchItem_Digest{Digest: badDigest}}, codes.InvalidArgument},
		{"archive with the statement prefix", archiveItem([]byte(statement.ReservedPrefix+" not an archive"), "a-2"), codes.InvalidArgument},
		{"empty archive", archiveItem(nil, "a-3"), codes.InvalidArgument},
		{"item without content", &signerv1.BatchItem{}, codes.InvalidArgument},
		{"key of an earlier call, other archive", archiveItem([]byte("PK another archive"), "a-0"), codes.AlreadyExists},
	}
	req := &signerv1.SignBatchRequest{}
	for _, it := range items {
		req.Items = append(req.Items, it.item)
	}
	resp, err := e.batch.SignBatch(t.Context(), req)
	must(t, err)
	if len(resp.GetResults()) != len(items) {
		t.Fatalf("%d results for %d items", len(resp.GetResults()), len(items))
	}
	for i, it := range items {
		res := resp.GetResults()[i]
		got := codes.OK
		if res.GetError() != nil {
			got = codes.Code(res.GetError().GetCode())
		}
		if got != it.wantCode {
			t.Errorf("%s: code %v (%q), want %v", it.name, got, res.GetError().GetMessage(), it.wantCode)
		}
	}
	d1, d1again := resp.GetResults()[0].GetDigest(), resp.GetResults()[2].GetDigest()
	if d1.GetEntryId() != d1again.GetEntryId() || d1.GetReplayed() == d1again.GetReplayed() {
		t.Errorf("one key twice in a batch: entries %d and %d, replayed %v and %v; want one entry, one replay",
			d1.GetEntryId(), d1again.GetEntryId(), d1.GetReplayed(), d1again.GetReplayed())
	}
	archive := resp.GetResults()[1].GetArchive()
	sf, err := chain.ParseSignatureFile(archive.GetSignatureFile())
	must(t, err)
	if _, err := chain.NewTrustStore(e.pki.Root, e.pki.Intermediate).Verify(t.Context(), sf, strings.NewReader(string(small)), time.Now()); err != nil {
		t.Errorf("archive item's signature file does not verify: %v", err)
	}
	entries, err := e.store.List(t.Context(), ledger.Filter{Limit: 100})
	must(t, err)
	if len(entries) != 3 {
		t.Errorf("ledger has %d entries, want 3 (the first call's archive, one digest, one archive)", len(entries))
	}
}

// TestSignBatchRejectsBadBatches checks the limits on the batch itself.
func TestSignBatchRejectsBadBatches(t *testing.T) {
	e := newBatchEnv(t)
	tooMany := &signerv1.SignBatchRequest{}
	for range server.MaxBatchItems + 1 {
		tooMany.Items = append(tooMany.Items, &signerv1.BatchItem{})
	}
	cases := []struct {
		name string
		req  *signerv1.SignBatchRequest
		want string
	}{
		{"empty", &signerv1.SignBatchRequest{}, "the batch is empty"},
		{"over the item limit", tooMany, "send at most 1000 per call"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.batch.SignBatch(t.Context(), tc.req)
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tc.want) {
				t.Fatalf("got %v, want InvalidArgument with %q", err, tc.want)
			}
		})
	}
}

// TestMetricsCountBatchWork checks what one batch adds to the metrics:
// the call by method and code, a signature per signing operation by backend
// and key, and one timed ledger append per item recorded. A replayed
// batch signs and appends nothing: one lookup of its idempotency keys
// precedes signing and answers every item from the ledger.
func TestMetricsCountBatchWork(t *testing.T) {
	e := newBatchEnv(t)
	a, b := []byte("PK metrics a"), []byte("PK metrics b")
	req := &signerv1.SignBatchRequest{Items: []*signerv1.BatchItem{digestItem(a, "m-1"), digestItem(b, "m-2"), archiveItem(a, "m-3")}}
	_, err := e.batch.SignBatch(t.Context(), req)
	must(t, err)
	_, err = e.batch.SignBatch(t.Context(), req) // all replays
	must(t, err)

	want := map[string]float64{
		`signer_grpc_requests_total{code="OK",method="/signer.v1.BatchService/SignBatch"}`: 2,
		`signer_signatures_total{backend="softkms",key="batch-signing"}`:                   3,
		`signer_ledger_append_duration_seconds_count{result="ok"}`:                         3,
		`signer_ledger_append_duration_seconds_count{result="replay"}`:                     0,
		`signer_grpc_requests_in_flight`:                                                   0,
	}
	got := scrape(t, e.metrics)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

// scrape renders every sample as name{labels} → value, as Prometheus shows it.
func scrape(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	must(t, err)
	out := map[string]float64{}
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			name := f.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case s.GetCounter() != nil:
				out[name] = s.GetCounter().GetValue()
			case s.GetGauge() != nil:
				out[name] = s.GetGauge().GetValue()
			case s.GetHistogram() != nil:
				out[f.GetName()+"_count"+strings.TrimPrefix(name, f.GetName())] = float64(s.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

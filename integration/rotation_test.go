package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/pgtest"
)

// TestRotationUnderLoad rotates the signing key twice with `signerctl key
// rotate` while 8 clients sign continuously. No request may fail or be
// mis-signed, and every signature's ledger row must name the exact key
// version whose certificate came back with it.
func TestRotationUnderLoad(t *testing.T) {
	srv := startDev(t, "--database-url", pgtest.URL(t))
	dir := t.TempDir()
	truststore := filepath.Join(dir, "truststore")
	mustSignerctl(t, "bundle", "get", "--server", srv.Addr, "--out", truststore)
	ts, err := chain.LoadTrustStore(truststore)
	must(t, err)

	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(t, err)
	defer conn.Close()
	client := signerv1.NewSignerServiceClient(conn)
	ledger := signerv1.NewLedgerServiceClient(conn)

	type signed struct {
		archive []byte
		resp    *signerv1.SignArchiveResponse
	}
	var (
		stop     atomic.Bool
		mu       sync.Mutex
		results  []signed
		failures []error
		wg       sync.WaitGroup
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000 && !stop.Load(); i++ {
				archive := fmt.Appendf(nil, "worker %d archive %d %s", w, i, strings.Repeat("x", 512))
				resp, err := signOnce(t.Context(), client, archive, fmt.Sprintf("w%d-%d", w, i))
				mu.Lock()
				if err != nil {
					failures = append(failures, err)
				} else {
					results = append(results, signed{archive, resp})
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	mustSignerctl(t, "key", "rotate", "--server", srv.Addr, "dev-signing")
	time.Sleep(300 * time.Millisecond)
	mustSignerctl(t, "key", "rotate", "--server", srv.Addr, "dev-signing", "--backend", "softkms")
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed during rotation; first: %v", len(failures), len(failures)+len(results), failures[0])
	}
	versions := map[int32]int{}
	for _, r := range results {
		versions[r.resp.GetKeyVersion()]++
		sf, err := chain.ParseSignatureFile(r.resp.GetSignatureFile())
		must(t, err)
		if _, err := ts.Verify(t.Context(), sf, bytes.NewReader(r.archive), time.Now()); err != nil {
			t.Fatalf("entry %d (key v%d) does not verify: %v", r.resp.GetEntryId(), r.resp.GetKeyVersion(), err)
		}
		e, err := ledger.GetEntry(t.Context(), &signerv1.GetEntryRequest{Id: r.resp.GetEntryId()})
		must(t, err)
		cert, err := chain.ParseCertificatePEM([]byte(r.resp.GetCertificatePem()))
		must(t, err)
		res, _ := ts.Verify(t.Context(), sf, bytes.NewReader(r.archive), time.Now())
		if e.GetEntry().GetKeyVersion() != r.resp.GetKeyVersion() || e.GetEntry().GetCertificateSerial() != res.Serial || !bytes.Equal(e.GetEntry().GetSignature(), r.resp.GetSignature()) {
			t.Fatalf("ledger entry %d says key v%d cert %s; response says v%d cert %x",
				e.GetEntry().GetId(), e.GetEntry().GetKeyVersion(), e.GetEntry().GetCertificateSerial(), r.resp.GetKeyVersion(), cert.SerialNumber)
		}
	}
	if versions[1] == 0 || versions[3] == 0 {
		t.Fatalf("signatures per key version %v: the load did not span both rotations", versions)
	}
	t.Logf("%d signatures across rotations, per key version: %v", len(results), versions)
	out := mustSignerctl(t, "key", "list", "--server", srv.Addr)
	if strings.Count(out, "retired") != 2 || strings.Count(out, "active") != 1 {
		t.Fatalf("key list after two rotations:\n%s", out)
	}
}

func signOnce(ctx context.Context, c signerv1.SignerServiceClient, archive []byte, idem string) (*signerv1.SignArchiveResponse, error) {
	sum := sha256.Sum256(archive)
	stream, err := c.SignArchive(ctx)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Metadata{Metadata: &signerv1.SignArchiveMetadata{
		AppKey: "com.example.rotation", Version: "1.0.0", Track: signerv1.Track_TRACK_MARKETPLACE,
		ReviewRef: "load", IdempotencyKey: idem, ExpectedSha256: sum[:],
	}}}); err == nil {
		_ = stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Chunk{Chunk: archive}})
	}
	return stream.CloseAndRecv()
}

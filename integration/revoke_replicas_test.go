package integration

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/pgtest"
)

// TestRevokedKeyStopsEveryReplica plays a compromised signing key on a
// service of two replicas sharing one PostgreSQL. Replica B does not hear
// key changes (no LISTEN, polling hourly): it still holds the compromised
// version as its active key when replica A rotates and revokes it. B's very
// next signature attempt must be refused with FailedPrecondition naming
// the key version, with nothing recorded; its retry signs with the new
// version. Replays (same idempotency key) of the signatures the revocation
// covers are refused in SignArchive, SignDigest, SignBatch and
// `signerctl sign` alike, naming the revocation and how to re-sign.
func TestRevokedKeyStopsEveryReplica(t *testing.T) {
	requirePostgresBinaries(t)
	url := pgtest.URL(t)
	dataDir := t.TempDir()
	a := startDev(t, "--database-url", url, "--data-dir", dataDir)
	b := startDev(t, "--database-url", url, "--data-dir", dataDir, "--key-notify=false", "--key-poll", "1h")
	conn, err := grpc.NewClient(b.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	clientB := signerv1.NewSignerServiceClient(conn)
	ctx := t.Context()
	work := t.TempDir()

	compromisedFrom := time.Now().UTC()
	time.Sleep(10 * time.Millisecond) // the signatures below are made after it, on every clock
	// Signed on B with version 1: an archive through the CLI, a digest over the API.
	x1 := writeArchive(t, work, "x1.jar", 4096, 31)
	x1Args := []string{"sign", "--server", b.Addr, "--app-key", "com.example.revoked", "--version", "1.0.0", "--out", x1 + ".sig", x1}
	x1Entry := entryOf(mustSignerctl(t, x1Args...))
	bfDir := filepath.Join(work, "backfill")
	bfVersion := filepath.Join(bfDir, "com.example.backfilled", "1.0.0")
	must(t, os.MkdirAll(bfVersion, 0o755))
	bfArchive := writeArchive(t, bfVersion, "app.jar", 2048, 32)
	if out := mustSignerctl(t, "backfill", "--server", b.Addr, "--progress=false", bfDir); !strings.Contains(out, "signed 1,") {
		t.Fatalf("backfill before the revocation:\n%s", out)
	}
	digest := func(idem string, body []byte) (*signerv1.SignDigestResponse, error) {
		s256, s512 := sha256.Sum256(body), sha512.Sum512(body)
		return clientB.SignDigest(ctx, &signerv1.SignDigestRequest{
			AppKey: "com.example.revoked", Version: "1.0.1", Track: signerv1.Track_TRACK_MARKETPLACE,
			ReviewRef: "review-1", IdempotencyKey: idem, ArchiveSize: int64(len(body)), Sha256: s256[:], Sha512: s512[:],
		})
	}
	d1body := []byte("digest-signed archive")
	d1, err := digest("d1", d1body)
	must(t, err)
	if d1.GetKeyVersion() != 1 {
		t.Fatalf("digest signed with version %d, want 1", d1.GetKeyVersion())
	}
	v1Cert := filepath.Join(work, "v1.pem")
	must(t, os.WriteFile(v1Cert, []byte(d1.GetCertificatePem()), 0o644))

	// On A: rotate, then revoke version 1 from before those signatures.
	mustSignerctl(t, "key", "rotate", "--server", a.Addr, "dev-signing")
	out := mustSignerctl(t, "revoke", "key", "--server", a.Addr, "--cert", v1Cert,
		"--effective-from", compromisedFrom.Format(time.RFC3339Nano), "--reason", "key-compromise", "--output", "json")
	var revoked struct {
		Affected      []json.RawMessage `json:"affected"`
		AffectedTotal int64             `json:"affected_total"`
	}
	must(t, json.Unmarshal([]byte(out), &revoked))
	if len(revoked.Affected) != 3 || revoked.AffectedTotal != 3 {
		t.Fatalf("revoke key lists %d signatures of a total of %d; want 3 of 3:\n%s", len(revoked.Affected), revoked.AffectedTotal, out)
	}

	// B still offers version 1: the ledger refuses it, nothing is recorded.
	rows := countRows(t, url)
	x2 := []byte("signed on the stale replica")
	_, err = signOnce(ctx, clientB, x2, "x2")
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "key dev-signing version 1 is revoked") {
		t.Fatalf("B signs after the revocation: %v; want FailedPrecondition naming dev-signing version 1", err)
	}
	if got := countRows(t, url); got != rows {
		t.Fatalf("the refused signature left %d new ledger rows", got-rows)
	}
	// B reloaded its keys: the retry signs with version 2.
	resp, err := signOnce(ctx, clientB, x2, "x2")
	if err != nil || resp.GetKeyVersion() != 2 {
		t.Fatalf("retry on B: version %d, %v; want version 2", resp.GetKeyVersion(), err)
	}

	// Replays of the revoked entries are refused, naming the revocation and the re-sign key.
	wantRevokedReplay := func(what string, code codes.Code, msg string, entry string) {
		t.Helper()
		if code != codes.FailedPrecondition || !strings.Contains(msg, "ledger entry "+entry) ||
			!strings.Contains(msg, "is revoked by revocation") || !strings.Contains(msg, "key-compromise") ||
			!strings.Contains(msg, "--idempotency-key resign:r") {
			t.Errorf("%s: %v %q; want FailedPrecondition naming entry %s, the revocation and the re-sign key", what, code, msg, entry)
		}
	}
	r := signerctl(t, x1Args...)
	if r.code == 0 {
		t.Errorf("signerctl sign replay of a revoked entry: exit 0\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "FailedPrecondition") {
		t.Errorf("signerctl sign replay: stderr %q, want FailedPrecondition", r.stderr)
	}
	wantRevokedReplay("signerctl sign replay", codes.FailedPrecondition, r.stderr, x1Entry)

	_, err = digest("d1", d1body)
	st := status.Convert(err)
	wantRevokedReplay("SignDigest replay", st.Code(), st.Message(), fmt.Sprint(d1.GetEntryId()))

	s256, s512 := sha256.Sum256(d1body), sha512.Sum512(d1body)
	batch, err := signerv1.NewBatchServiceClient(conn).SignBatch(ctx, &signerv1.SignBatchRequest{Items: []*signerv1.BatchItem{
		{Item: &signerv1.BatchItem_Digest{Digest: &signerv1.SignDigestRequest{
			AppKey: "com.example.revoked", Version: "1.0.1", Track: signerv1.Track_TRACK_MARKETPLACE,
			ReviewRef: "review-1", IdempotencyKey: "d1", ArchiveSize: int64(len(d1body)), Sha256: s256[:], Sha512: s512[:],
		}}},
	}})
	must(t, err)
	if e := batch.GetResults()[0].GetError(); e == nil {
		t.Errorf("SignBatch replay of a revoked entry returned a signature")
	} else {
		wantRevokedReplay("SignBatch replay", codes.Code(e.GetCode()), e.GetMessage(), fmt.Sprint(d1.GetEntryId()))
	}
	// backfill replays by default: the revoked entry is a failure, named.
	must(t, os.Remove(bfArchive+".sig"))
	r = signerctl(t, "backfill", "--server", b.Addr, "--progress=false", bfDir)
	if all := r.stdout + r.stderr; r.code == 0 || !strings.Contains(all, "failed 1") || !strings.Contains(all, "is revoked by revocation") {
		t.Errorf("backfill replay of a revoked entry: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(bfArchive + ".sig"); err == nil {
		t.Errorf("backfill wrote the revoked signature back")
	}
	if got := countRows(t, url); got != rows+1 {
		t.Errorf("ledger has %d new rows, want 1 (the retry on B)", got-rows)
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/auth/approvalpg"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/revocationstore"
	"github.com/appsign/signer/internal/server"
	"github.com/appsign/signer/internal/service"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestIncidentBatchPlan: re-sign batches never exceed SignBatch's limits
// (1000 items, one 4 MiB message), a large archive goes alone, and every
// version is in exactly one job, in order.
func TestIncidentBatchPlan(t *testing.T) {
	archive := func(id, size int64) resignItem {
		return resignItem{entry: &signerv1.LedgerEntry{Id: id, ArchiveSize: size, Profile: "upm"}, path: "x"}
	}
	digest := func(id int64) resignItem {
		return resignItem{entry: &signerv1.LedgerEntry{Id: id, ArchiveSize: 1 << 30, Profile: "digest-v1"}}
	}
	cases := []struct {
		name     string
		items    func() []resignItem
		maxItems int
		wantJobs int
	}{
		{"2500 small archives", func() (out []resignItem) {
			for i := range 2500 {
				out = append(out, archive(int64(i), 1<<10))
			}
			return out
		}, 1000, 3},
		{"100 archives of 100 KiB fill 4 MiB messages", func() (out []resignItem) {
			for i := range 100 {
				out = append(out, archive(int64(i), 100<<10))
			}
			return out
		}, 1000, 3},
		{"a 5 MiB archive between small ones goes alone", func() []resignItem {
			return []resignItem{archive(1, 10), archive(2, 5<<20), archive(3, 10)}
		}, 1000, 2},
		{"digests count their metadata, not the archive size", func() (out []resignItem) {
			for i := range 2001 {
				out = append(out, digest(int64(i)))
			}
			return out
		}, 1000, 3},
		{"--batch-items 2", func() (out []resignItem) {
			for i := range 5 {
				out = append(out, archive(int64(i), 10))
			}
			return out
		}, 2, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			items := tc.items()
			jobs := planResignJobs(items, tc.maxItems)
			if len(jobs) != tc.wantJobs {
				t.Errorf("%d jobs, want %d", len(jobs), tc.wantJobs)
			}
			seen := map[int64]int{}
			for _, job := range jobs {
				var bytes int64
				for _, it := range job {
					seen[it.entry.GetId()]++
					if !it.digest() {
						bytes += it.entry.GetArchiveSize()
					}
				}
				if len(job) > tc.maxItems || (len(job) > 1 && bytes > resignBatchBytes) || resignBatchBytes+64<<10 > 4<<20 {
					t.Errorf("job of %d items, %d bytes: over SignBatch's limits", len(job), bytes)
				}
			}
			if len(seen) != len(items) {
				t.Errorf("%d distinct items planned, want %d", len(seen), len(items))
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("item %d planned %d times", id, n)
				}
			}
		})
	}
}

// incidentServer is a real signer (PostgreSQL ledger, keystore, approvals,
// trust service) on a loopback port.
type incidentServer struct {
	addr string
	conn *grpc.ClientConn
	dir  string
	pki  *chain.DevPKI
}

func startIncidentServer(t *testing.T) *incidentServer {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	url := pgtest.URL(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ledger.Migrate(ctx, url))
	store, err := ledger.Open(ctx, url)
	must(err)
	t.Cleanup(store.Close)
	now := time.Now()
	pki, err := chain.EnsureDevPKI(rand.Reader, dir, now.Add(-time.Hour))
	must(err)
	reg, err := kms.NewRegistry(softkms.New(softkms.Options{Dir: filepath.Join(dir, "keys")}))
	must(err)
	dev, err := service.EnsureDevTrust(rand.Reader, dir, pki, now.Add(-time.Hour))
	must(err)
	load := func(path string) kms.Signer {
		s, err := reg.LoadSigner(ctx, kms.NewURI(softkms.Scheme, map[string]string{"path": path}))
		must(err)
		return s
	}
	trust := &server.TrustAdmin{Store: revocationstore.New(store.Pool(), revocationstore.Options{Hook: store.RevocationEventHook()}),
		ListIssuer: dev.Revocation.Issuer, ListSignerCert: dev.ListSigner.Cert, ListSigner: load(dev.ListSigner.KeyPath), Rand: rand.Reader}
	for i, c := range []*x509.Certificate{pki.Root, pki.Intermediate, dev.PrivateBuild.Cert} {
		uri, err := kms.ParseURI(dev.Revocation.CAs[i].URI)
		must(err)
		trust.CAs = append(trust.CAs, server.CA{Name: dev.Revocation.CAs[i].Name, Cert: c, Signer: load(uri.Get("path"))})
	}
	caKey, err := softkms.ReadKeyFile(filepath.Join(dir, "keys", "marketplace-ca.key"))
	must(err)
	keys := keystore.New(store.Pool(), reg, chain.Issuer{CA: pki.Intermediate, Key: caKey, Validity: time.Hour, Rand: rand.Reader}, keystore.Options{})
	t.Cleanup(func() { keys.Close() })
	_, err = keys.Import(ctx, "signing", keystore.RoleArchiveSigning, kms.NewURI(softkms.Scheme, map[string]string{"path": pki.SigningKeyPath}), pki.Signing, "test")
	must(err)
	approvals := approvalpg.New(store.Pool(), auth.ApprovalOptions{})
	approvals.OnRequest, approvals.OnApprove, approvals.OnConsume = store.ApprovalHooks()
	// The test stands in for the mTLS authenticator (it has its own
	// tests): SignBatch comes from the review pipeline (in production the
	// command's --sign-tls-cert connection), everything else from a
	// security admin, alice unless x-test-admin names another.
	asAdmin := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		id := auth.Identity{Subject: "spiffe://appsign/security-admin/alice", Roles: []auth.Role{auth.RoleSecurityAdmin}}
		if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("x-test-admin")) == 1 {
			id.Subject = "spiffe://appsign/security-admin/" + md.Get("x-test-admin")[0]
		}
		if info.FullMethod == signerv1.BatchService_SignBatch_FullMethodName {
			id = auth.Identity{Subject: "spiffe://appsign/pipeline/review", Roles: []auth.Role{auth.RolePipeline}}
		}
		return h(auth.ContextWithIdentity(ctx, id), req)
	}
	srv, err := server.New(ctx, server.Config{
		Ledger: store, Keys: server.StoreKeys{Store: keys, Name: "signing"},
		Approvals: approvals, TrustAdmin: trust,
		Trust:  server.Trust{Roots: []*x509.Certificate{pki.Root}, Intermediates: []*x509.Certificate{pki.Intermediate}},
		Caller: auth.Caller,
	}, grpc.ChainUnaryInterceptor(asAdmin))
	must(err)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	go srv.GRPC.Serve(lis)
	t.Cleanup(srv.GRPC.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(err)
	t.Cleanup(func() { conn.Close() })
	return &incidentServer{addr: lis.Addr().String(), conn: conn, dir: dir, pki: pki}
}

// signDigests records n digest signatures through SignBatch.
func (s *incidentServer) signDigests(t *testing.T, prefix string, n int) {
	t.Helper()
	req := &signerv1.SignBatchRequest{}
	for i := range n {
		a := fmt.Appendf(nil, "%s %d", prefix, i)
		s256, s512 := sha256.Sum256(a), sha512.Sum512(a)
		req.Items = append(req.Items, &signerv1.BatchItem{Item: &signerv1.BatchItem_Digest{Digest: &signerv1.SignDigestRequest{
			AppKey: "com.example.incident", Version: fmt.Sprintf("%s.%d", prefix, i), Track: signerv1.Track_TRACK_MARKETPLACE, ReviewRef: "r",
			IdempotencyKey: fmt.Sprintf("%s-%d", prefix, i), ArchiveSize: int64(len(a)), Sha256: s256[:], Sha512: s512[:]}}})
	}
	resp, err := signerv1.NewBatchServiceClient(s.conn).SignBatch(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.GetResults() {
		if r.GetError() != nil {
			t.Fatalf("seed: %v", r.GetError())
		}
	}
}

func runCtl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestIncidentTwoPersonRule: on a server that enforces the two-person
// rule, the command rotates, then requests both revocation approvals,
// prints them for the second admin and stops without revoking; a rerun
// before they are approved still revokes nothing; once another admin has
// approved exactly those parameters the rerun finishes (digest entries
// re-signed without archives) and uses both approvals up. A rerun with
// another time is refused: the requester cannot move T after approval.
func TestIncidentTwoPersonRule(t *testing.T) {
	s := startIncidentServer(t)
	ctx := t.Context()
	s.signDigests(t, "1.0", 2)
	time.Sleep(20 * time.Millisecond)
	from := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)
	s.signDigests(t, "2.0", 3)
	out := filepath.Join(t.TempDir(), "incident")
	args := []string{"incident", "key-compromise", "--server", s.addr, "--key", "signing", "--from", from.Format(time.RFC3339Nano), "--out", out,
		"--bundle-key", filepath.Join(s.dir, "keys", "bundle-signer.key"), "--bundle-signer-cert", filepath.Join(s.dir, "pki", "bundle-signer.crt"), "--bundle-version", "7"}
	trust, approvals := signerv1.NewTrustServiceClient(s.conn), signerv1.NewApprovalServiceClient(s.conn)
	noRevocation := func(when string) {
		t.Helper()
		revs, err := trust.ListRevocations(ctx, &signerv1.ListRevocationsRequest{})
		if err != nil || len(revs.GetRevocations()) != 0 {
			t.Fatalf("%s: revocations %v (%v), want none", when, revs.GetRevocations(), err)
		}
	}

	code, stdout, stderr := runCtl(t, args...)
	if code != exitError || !strings.Contains(stdout, "signerctl approval approve --params-sha256") || !strings.Contains(stderr, "waiting for a second security admin") {
		t.Fatalf("first run: exit %d\n%s%s\nwant exit 1 printing the approvals", code, stdout, stderr)
	}
	noRevocation("first run")
	var st incidentState
	b, err := os.ReadFile(filepath.Join(out, incidentStateFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if !st.Done[phaseRotate] || st.Approvals[ledger.ActionRevokeKey] == "" || st.Approvals[ledger.ActionRevokeSigningCrt] == "" {
		t.Fatalf("state after the first run: done %v, approvals %v", st.Done, st.Approvals)
	}
	for _, id := range st.Approvals {
		if !strings.Contains(stdout, "approval show "+id) {
			t.Errorf("approval %s not printed for the second admin:\n%s", id, stdout)
		}
	}

	if code, stdout, stderr = runCtl(t, args...); code != exitError || !strings.Contains(stderr, "waiting for a second security admin") {
		t.Fatalf("rerun before approval: exit %d\n%s%s", code, stdout, stderr)
	}
	noRevocation("rerun before approval")

	for _, id := range st.Approvals {
		approveAsBob(t, approvals, id)
	}
	moved := append([]string(nil), args...)
	moved[7] = from.Add(time.Minute).Format(time.RFC3339Nano)
	if code, _, stderr = runCtl(t, moved...); code != exitUsage || !strings.Contains(stderr, "state of another incident") {
		t.Fatalf("rerun with another --from: exit %d %s, want a usage refusal", code, stderr)
	}

	if code, stdout, stderr = runCtl(t, args...); code != exitOK {
		t.Fatalf("rerun after approval: exit %d\n%s%s", code, stdout, stderr)
	}
	var rep incidentReport
	b, err = os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.KeyAffected != 3 || rep.CertAffected != 3 || rep.ResignedInLedger != 3 || rep.Resign.Signed != 3 || len(rep.LedgerCheck) != 0 || rep.NewKeyVersion != 2 {
		t.Fatalf("report %+v: want 3 affected by both revocations, 3 digest entries re-signed by version 2", rep)
	}
	for _, id := range st.Approvals {
		a, err := approvals.GetApproval(ctx, &signerv1.GetApprovalRequest{Id: id})
		if err != nil || a.GetApproval().GetConsumedAt() == nil || !strings.HasSuffix(a.GetApproval().GetApprovedBy(), "/bob") {
			t.Errorf("approval %s after the incident: %v %v; want approved by bob and used", id, a, err)
		}
	}
	for i := range 3 {
		a := fmt.Appendf(nil, "2.0 %d", i)
		sum := sha256.Sum256(a)
		if _, err := os.Stat(filepath.Join(out, "resigned", "com.example.incident", fmt.Sprintf("2.0.%d", i), fmt.Sprintf("%x.sig", sum))); err != nil {
			t.Errorf("digest re-signature file: %v", err)
		}
	}
}

// approveAsBob has admin bob approve the approval id exactly as shown.
func approveAsBob(t *testing.T, approvals signerv1.ApprovalServiceClient, id string) {
	t.Helper()
	bob := metadata.AppendToOutgoingContext(t.Context(), "x-test-admin", "bob")
	a, err := approvals.GetApproval(bob, &signerv1.GetApprovalRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := approvals.Approve(bob, &signerv1.ApproveRequest{Id: id, ParamsSha256: a.GetApproval().GetParamsSha256()}); err != nil {
		t.Fatal(err)
	}
}

// TestIncidentAdoptsRecordedRevocation: an operator who already rotated
// and revoked the key from T by hand (or a run whose answer was lost)
// is not asked for a second key approval: the command adopts the recorded
// revocation, asks only for the certificate's, and re-signs exactly that
// revocation's entries.
func TestIncidentAdoptsRecordedRevocation(t *testing.T) {
	s := startIncidentServer(t)
	ctx := t.Context()
	from := time.Now().UTC().Add(-time.Second)
	time.Sleep(20 * time.Millisecond)
	s.signDigests(t, "3.0", 4)
	keysC, trust, approvals := signerv1.NewKeyServiceClient(s.conn), signerv1.NewTrustServiceClient(s.conn), signerv1.NewApprovalServiceClient(s.conn)
	if _, err := keysC.RotateKey(ctx, &signerv1.RotateKeyRequest{Name: "signing"}); err != nil {
		t.Fatal(err)
	}
	fp := sha256.Sum256(s.pki.Signing.RawSubjectPublicKeyInfo)
	target := ledger.RevokeKeyApprovalTarget(fmt.Sprintf("%x", fp), from, "key-compromise")
	req, err := approvals.RequestApproval(ctx, &signerv1.RequestApprovalRequest{Action: ledger.ActionRevokeKey, Target: target, Reason: "by hand"})
	if err != nil {
		t.Fatal(err)
	}
	approveAsBob(t, approvals, req.GetApproval().GetId())
	byHand, err := trust.RevokeKey(ctx, &signerv1.RevokeKeyRequest{Fingerprint: fmt.Sprintf("%x", fp), EffectiveFrom: timestamppb.New(from), Reason: "key-compromise", ApprovalId: req.GetApproval().GetId()})
	if err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "incident")
	args := []string{"incident", "key-compromise", "--server", s.addr, "--key", "signing", "--key-version", "1", "--from", from.Format(time.RFC3339Nano), "--out", out,
		"--bundle-key", filepath.Join(s.dir, "keys", "bundle-signer.key"), "--bundle-signer-cert", filepath.Join(s.dir, "pki", "bundle-signer.crt"), "--bundle-version", "7"}
	code, stdout, stderr := runCtl(t, args...)
	if code != exitError || strings.Contains(stdout, ledger.ActionRevokeKey+" ") || !strings.Contains(stdout, ledger.ActionRevokeSigningCrt) {
		t.Fatalf("first run: exit %d\n%s%s\nwant a request for the certificate's approval only", code, stdout, stderr)
	}
	var st incidentState
	b, err := os.ReadFile(filepath.Join(out, incidentStateFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if st.KeyRevocationID != byHand.GetRevocation().GetId() || st.Rotated || st.Approvals[ledger.ActionRevokeKey] != "" {
		t.Fatalf("state: key revocation %d (want the one by hand, %d), rotated %v, approvals %v", st.KeyRevocationID, byHand.GetRevocation().GetId(), st.Rotated, st.Approvals)
	}
	approveAsBob(t, approvals, st.Approvals[ledger.ActionRevokeSigningCrt])
	if code, stdout, stderr = runCtl(t, args...); code != exitOK {
		t.Fatalf("rerun: exit %d\n%s%s", code, stdout, stderr)
	}
	var rep incidentReport
	b, err = os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.KeyRevocationID != byHand.GetRevocation().GetId() || rep.KeyAffected != 4 || rep.ResignedInLedger != 4 || len(rep.LedgerCheck) != 0 {
		t.Fatalf("report %+v: want the revocation by hand with its 4 entries re-signed", rep)
	}
}

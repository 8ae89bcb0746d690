package server_test

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/auth/approvalpg"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/limits"
	"github.com/appsign/signer/internal/revocationstore"
	"github.com/appsign/signer/internal/server"
)

// TestRevocationAffectedPagedBeyondPreview: a key revocation covering more
// signatures than its response lists (10,000) says how many it covers, and
// ListEntries with its revocation_id pages through exactly all of them —
// none missed, none repeated, none of another revocation's — so no
// consumer is left with a silently capped list.
func TestRevocationAffectedPagedBeyondPreview(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	now := time.Now()
	store, pki := newLedgerAndPKI(t, dir)
	reg, err := kms.NewRegistry(softkms.New(softkms.Options{Dir: filepath.Join(dir, "keys")}))
	must(t, err)
	trust := devTrustAdmin(t, dir, pki, reg, revocationstore.New(store.Pool(), revocationstore.Options{Hook: store.RevocationEventHook()}), now)
	caKey, err := softkms.ReadKeyFile(filepath.Join(dir, "keys", "marketplace-ca.key"))
	must(t, err)
	keys := keystore.New(store.Pool(), reg, chain.Issuer{CA: pki.Intermediate, Key: caKey, Validity: time.Hour, Rand: rand.Reader}, keystore.Options{})
	t.Cleanup(func() { keys.Close() })
	_, err = keys.Import(ctx, "signing", keystore.RoleArchiveSigning, kms.NewURI(softkms.Scheme, map[string]string{"path": pki.SigningKeyPath}), pki.Signing, "test")
	must(t, err)
	approvalStore := approvalpg.New(store.Pool(), auth.ApprovalOptions{})
	approvalStore.OnRequest, approvalStore.OnApprove, approvalStore.OnConsume = store.ApprovalHooks()
	srv, err := server.New(ctx, server.Config{
		Ledger: store, Keys: server.StoreKeys{Store: keys, Name: "signing"},
		Approvals:  approvalStore,
		TrustAdmin: trust,
		Trust:      server.Trust{Roots: []*x509Cert{pki.Root}, Intermediates: []*x509Cert{pki.Intermediate}},
		Caller:     auth.Caller,
	}, grpc.ChainUnaryInterceptor(adminFromMetadata))
	must(t, err)
	conn := dial(t, srv)
	batch, ledgerC := signerv1.NewBatchServiceClient(conn), signerv1.NewLedgerServiceClient(conn)
	trustC, approvals := signerv1.NewTrustServiceClient(conn), signerv1.NewApprovalServiceClient(conn)

	// 10,050 signatures through the real write path, all by the key.
	const n = 10050
	signed := map[int64]bool{}
	for start := 0; start < n; start += 1000 {
		req := &signerv1.SignBatchRequest{}
		for i := start; i < min(start+1000, n); i++ {
			archive := fmt.Appendf(nil, "archive %d", i)
			s256, s512 := sha256.Sum256(archive), sha512.Sum512(archive)
			req.Items = append(req.Items, &signerv1.BatchItem{Item: &signerv1.BatchItem_Digest{Digest: &signerv1.SignDigestRequest{
				AppKey: fmt.Sprintf("com.example.app%d", i%7), Version: fmt.Sprintf("1.0.%d", i), Track: signerv1.Track_TRACK_MARKETPLACE,
				ReviewRef: "r", IdempotencyKey: fmt.Sprintf("seed-%d", i), ArchiveSize: int64(len(archive)), Sha256: s256[:], Sha512: s512[:]}}})
		}
		resp, err := batch.SignBatch(ctx, req)
		must(t, err)
		for _, r := range resp.GetResults() {
			if r.GetError() != nil {
				t.Fatalf("seed: %v", r.GetError())
			}
			signed[r.GetDigest().GetEntryId()] = true
		}
	}
	// An archive revocation of one entry: its revocation id must not leak
	// into the key revocation's listing, nor the other way round.
	var one int64
	for id := range signed {
		one = id
		break
	}
	arch, err := trustC.RevokeSignature(asAdmin(ctx, "alice"), &signerv1.RevokeSignatureRequest{Target: &signerv1.RevokeSignatureRequest_LedgerEntryId{LedgerEntryId: one}, Reason: "malicious"})
	must(t, err)

	// The compromised version must not be active: rotate first.
	_, err = keys.Rotate(ctx, "signing", keystore.BackendSpec{Scheme: softkms.Scheme}, "test")
	must(t, err)
	from := timestamppb.New(now.Add(-time.Hour))
	sum := sha256.Sum256(pki.Signing.RawSubjectPublicKeyInfo)
	fp := hex.EncodeToString(sum[:])
	ar, err := approvals.RequestApproval(asAdmin(ctx, "alice"), &signerv1.RequestApprovalRequest{Action: server.ActionRevokeKey,
		Target: ledger.RevokeKeyApprovalTarget(fp, from.AsTime(), "key-compromise"), Reason: "drill"})
	must(t, err)
	_, err = approvals.Approve(asAdmin(ctx, "bob"), &signerv1.ApproveRequest{Id: ar.GetApproval().GetId()})
	must(t, err)
	rk, err := trustC.RevokeKey(asAdmin(ctx, "alice"), &signerv1.RevokeKeyRequest{Fingerprint: fp, EffectiveFrom: from, Reason: "key-compromise", ApprovalId: ar.GetApproval().GetId()},
		grpc.MaxCallRecvMsgSize(limits.MaxResponseSize)) // the 10,000-entry preview is over gRPC's default 4 MiB
	must(t, err)
	if rk.GetAffectedTotal() != n || len(rk.GetAffected()) != 10000 {
		t.Fatalf("revoke key: affected_total %d with %d listed, want %d with a 10000 preview", rk.GetAffectedTotal(), len(rk.GetAffected()), n)
	}

	page := func(revocationID int64, size int32) []int64 {
		t.Helper()
		var ids []int64
		req := &signerv1.ListEntriesRequest{RevocationId: revocationID, PageSize: size}
		for {
			resp, err := ledgerC.ListEntries(ctx, req)
			must(t, err)
			for _, e := range resp.GetEntries() {
				if !e.GetRevoked() {
					t.Fatalf("entry %d listed under revocation %d but not marked revoked", e.GetId(), revocationID)
				}
				ids = append(ids, e.GetId())
			}
			if resp.GetNextPageToken() == "" {
				return ids
			}
			req.PageToken = resp.GetNextPageToken()
		}
	}
	got := page(rk.GetRevocation().GetId(), 1000)
	seen := map[int64]bool{}
	for _, id := range got {
		if seen[id] || !signed[id] {
			t.Fatalf("entry %d listed twice or never signed", id)
		}
		seen[id] = true
	}
	if len(seen) != n {
		t.Fatalf("paging revocation %d listed %d entries, want %d", rk.GetRevocation().GetId(), len(seen), n)
	}
	for i, e := range rk.GetAffected() {
		if got[i] != e.GetId() {
			t.Fatalf("preview entry %d is %d, the paged list has %d: the preview must be the first page", i, e.GetId(), got[i])
		}
	}
	if a := page(arch.GetRevocation().GetId(), 0); len(a) != 1 || a[0] != one {
		t.Fatalf("archive revocation lists %v, want [%d]", a, one)
	}
	if none := page(rk.GetRevocation().GetId()+1000, 0); len(none) != 0 {
		t.Fatalf("an unknown revocation lists %d entries", len(none))
	}
	if _, err := ledgerC.ListEntries(ctx, &signerv1.ListEntriesRequest{RevocationId: -1}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("negative revocation_id: %v, want InvalidArgument", err)
	}
	prefixed, err := ledgerC.ListEntries(ctx, &signerv1.ListEntriesRequest{IdempotencyKeyPrefix: "seed-1000", PageSize: 1000})
	must(t, err)
	// seed-1000 and seed-10000..seed-10009.
	if len(prefixed.GetEntries()) != 11 {
		t.Fatalf("idempotency_key_prefix seed-1000 listed %d entries, want 11", len(prefixed.GetEntries()))
	}
}

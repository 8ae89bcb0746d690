package server_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
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
	"github.com/appsign/signer/internal/revocationstore"
	"github.com/appsign/signer/internal/server"
	"github.com/appsign/signer/internal/service"
)

// asAdmin makes the call as the named security admin (the test stands in
// for the mTLS authenticator, which has its own tests).
func asAdmin(ctx context.Context, name string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "x-test-admin", name)
}

func adminFromMetadata(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("x-test-admin")) == 1 {
		ctx = auth.ContextWithIdentity(ctx, auth.Identity{Subject: "spiffe://appsign/security-admin/" + md.Get("x-test-admin")[0], Roles: []auth.Role{auth.RoleSecurityAdmin}})
	}
	return h(ctx, req)
}

// TestCAKeyRotationNeedsTwoAdmins: rotating a CA key needs an approval that
// a second admin approved; it is used up by the rotation.
func TestCAKeyRotationNeedsTwoAdmins(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	store, pki := newLedgerAndPKI(t, dir)
	caKey, err := softkms.ReadKeyFile(filepath.Join(dir, "keys", "marketplace-ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := kms.NewRegistry(softkms.New(softkms.Options{Dir: filepath.Join(dir, "more-keys")}))
	if err != nil {
		t.Fatal(err)
	}
	keys := keystore.New(store.Pool(), reg, chain.Issuer{CA: pki.Intermediate, Key: caKey, Validity: time.Hour, Rand: rand.Reader}, keystore.Options{})
	t.Cleanup(func() { keys.Close() })
	if _, err := keys.Import(ctx, "signing", keystore.RoleArchiveSigning, kms.NewURI(softkms.Scheme, map[string]string{"path": pki.SigningKeyPath}), pki.Signing, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Create(ctx, "ledger-ca", keystore.RoleCA, keystore.BackendSpec{Scheme: softkms.Scheme}, "test"); err != nil {
		t.Fatal(err)
	}
	approvalStore := approvalpg.New(store.Pool(), auth.ApprovalOptions{})
	approvalStore.OnRequest, approvalStore.OnApprove, approvalStore.OnConsume = store.ApprovalHooks()
	srv, err := server.New(ctx, server.Config{
		Ledger: store, Keys: server.StoreKeys{Store: keys, Name: "signing"},
		Approvals: approvalStore,
		Trust:     server.Trust{Roots: []*x509Cert{pki.Root}, Intermediates: []*x509Cert{pki.Intermediate}},
		Caller:    auth.Caller,
	}, grpc.ChainUnaryInterceptor(adminFromMetadata))
	if err != nil {
		t.Fatal(err)
	}
	conn := dial(t, srv)
	keysC, approvals := signerv1.NewKeyServiceClient(conn), signerv1.NewApprovalServiceClient(conn)
	alice, bob := asAdmin(ctx, "alice"), asAdmin(ctx, "bob")

	target := ledger.RotateCAKeyApprovalTarget("ledger-ca", "", nil)
	if _, err := keysC.RotateKey(alice, &signerv1.RotateKeyRequest{Name: "ledger-ca"}); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(status.Convert(err).Message(), "second security admin") || !strings.Contains(status.Convert(err).Message(), target) {
		t.Fatalf("CA rotation without approval: %v, want FailedPrecondition printing the target %s", err, target)
	}
	req, err := approvals.RequestApproval(alice, &signerv1.RequestApprovalRequest{Action: server.ActionRotateCAKey, Target: target, Reason: "scheduled"})
	if err != nil {
		t.Fatal(err)
	}
	id := req.GetApproval().GetId()
	if _, err := keysC.RotateKey(alice, &signerv1.RotateKeyRequest{Name: "ledger-ca", ApprovalId: id}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("rotation with an unapproved approval: %v, want FailedPrecondition", err)
	}
	if _, err := approvals.Approve(alice, &signerv1.ApproveRequest{Id: id}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("self-approval: %v, want PermissionDenied", err)
	}
	ok, err := approvals.Approve(bob, &signerv1.ApproveRequest{Id: id})
	if err != nil || !strings.HasSuffix(ok.GetApproval().GetApprovedBy(), "/bob") || !strings.HasSuffix(ok.GetApproval().GetRequestedBy(), "/alice") {
		t.Fatalf("approve by a second admin: %v, %v", ok, err)
	}
	other, _ := approvals.RequestApproval(alice, &signerv1.RequestApprovalRequest{Action: server.ActionRotateCAKey, Target: ledger.RotateCAKeyApprovalTarget("other-ca", "", nil)})
	_, _ = approvals.Approve(bob, &signerv1.ApproveRequest{Id: other.GetApproval().GetId()})
	if _, err := keysC.RotateKey(alice, &signerv1.RotateKeyRequest{Name: "ledger-ca", ApprovalId: other.GetApproval().GetId()}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("approval for another target: %v, want FailedPrecondition", err)
	}
	// The approval binds the backend too: not usable for a rotation into another one.
	if _, err := keysC.RotateKey(alice, &signerv1.RotateKeyRequest{Name: "ledger-ca", ApprovalId: id, Backend: &signerv1.BackendSpec{Scheme: "pkcs11"}}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("approved rotation into another backend: %v, want FailedPrecondition", err)
	}
	rotated, err := keysC.RotateKey(alice, &signerv1.RotateKeyRequest{Name: "ledger-ca", ApprovalId: id})
	if err != nil || len(rotated.GetKey().GetVersions()) != 2 {
		t.Fatalf("approved rotation: %v, %v", rotated, err)
	}
	if _, err := keysC.RotateKey(alice, &signerv1.RotateKeyRequest{Name: "ledger-ca", ApprovalId: id}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("reused approval: %v, want FailedPrecondition", err)
	}
	// Archive-signing keys rotate without a second admin.
	if _, err := keysC.RotateKey(alice, &signerv1.RotateKeyRequest{Name: "signing", Backend: &signerv1.BackendSpec{Scheme: softkms.Scheme}}); err != nil {
		t.Fatalf("archive-signing rotation: %v", err)
	}
}

// TestRevocationNeedsTwoAdmins: revoking a key, a CA certificate or the
// archive-signing certificate needs a second admin's approval of exactly
// its parameters (attacker: the requester changes the effective time or
// reason after the approval); every step is in the transparency log and
// the log's two-person audit finds nothing wrong.
func TestRevocationNeedsTwoAdmins(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	now := time.Now()
	store, pki := newLedgerAndPKI(t, dir)
	reg, err := kms.NewRegistry(softkms.New(softkms.Options{Dir: filepath.Join(dir, "keys")}))
	if err != nil {
		t.Fatal(err)
	}
	trust := devTrustAdmin(t, dir, pki, reg, revocationstore.New(store.Pool(), revocationstore.Options{Hook: store.RevocationEventHook()}), now)
	approvalStore := approvalpg.New(store.Pool(), auth.ApprovalOptions{})
	approvalStore.OnRequest, approvalStore.OnApprove, approvalStore.OnConsume = store.ApprovalHooks()
	srv, err := server.New(ctx, server.Config{
		Ledger: store, Keys: staticKeys{Key: &server.SigningKey{ID: "signing", Version: 1, Signer: mustLoad(t, reg, pki.SigningKeyPath), Cert: pki.Signing}},
		Approvals:  approvalStore,
		TrustAdmin: trust,
		Trust:      server.Trust{Roots: []*x509Cert{pki.Root}, Intermediates: []*x509Cert{pki.Intermediate}},
		Caller:     auth.Caller,
	}, grpc.ChainUnaryInterceptor(adminFromMetadata))
	if err != nil {
		t.Fatal(err)
	}
	conn := dial(t, srv)
	trustC, approvals := signerv1.NewTrustServiceClient(conn), signerv1.NewApprovalServiceClient(conn)
	alice, bob := asAdmin(ctx, "alice"), asAdmin(ctx, "bob")
	approve := func(action, target string) string {
		t.Helper()
		r, err := approvals.RequestApproval(alice, &signerv1.RequestApprovalRequest{Action: action, Target: target, Reason: "drill"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := approvals.Approve(bob, &signerv1.ApproveRequest{Id: r.GetApproval().GetId()}); err != nil {
			t.Fatal(err)
		}
		return r.GetApproval().GetId()
	}
	from := timestamppb.New(now.Add(-time.Minute))
	sum := sha256.Sum256(pki.Signing.RawSubjectPublicKeyInfo)
	fp := hex.EncodeToString(sum[:])
	sizeBefore := logSize(t, store)

	// An approval binds every parameter: the key, the effective time and
	// the reason. The requester cannot backdate, postdate or change the
	// reason after the approval, nor use it for another key.
	key := &signerv1.RevokeKeyRequest{Fingerprint: fp, EffectiveFrom: from, Reason: "key-compromise"}
	target := ledger.RevokeKeyApprovalTarget(fp, from.AsTime(), "key-compromise")
	if _, err := trustC.RevokeKey(alice, key); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(status.Convert(err).Message(), "second security admin") || !strings.Contains(status.Convert(err).Message(), target) {
		t.Fatalf("key revocation without approval: %v, want FailedPrecondition printing the target %s", err, target)
	}
	for _, tt := range []struct{ name, target string }{
		{"another key", ledger.RevokeKeyApprovalTarget(strings.Repeat("0", 64), from.AsTime(), "key-compromise")},
		{"an earlier time (the request backdates)", ledger.RevokeKeyApprovalTarget(fp, from.AsTime().Add(time.Hour), "key-compromise")},
		{"a later time (the request postdates)", ledger.RevokeKeyApprovalTarget(fp, from.AsTime().Add(-time.Hour), "key-compromise")},
		{"another reason", ledger.RevokeKeyApprovalTarget(fp, from.AsTime(), "superseded")},
		{"the bare fingerprint", fp},
	} {
		key.ApprovalId = approve(server.ActionRevokeKey, tt.target)
		if _, err := trustC.RevokeKey(alice, key); status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "not for these parameters") {
			t.Fatalf("key revocation with an approval for %s: %v, want FailedPrecondition", tt.name, err)
		}
	}
	key.ApprovalId = approve(server.ActionRevokeKey, target)
	if r, err := trustC.RevokeKey(alice, key); err != nil || !r.GetChanged() {
		t.Fatalf("approved key revocation: %v, %v", r, err)
	}

	caTarget := ledger.RevokeCertificateApprovalTarget(pki.Intermediate.Issuer.String(), pki.Intermediate.SerialNumber.Text(16), from.AsTime(), "ca-compromise")
	ca := &signerv1.RevokeCertificateRequest{Issuer: pki.Intermediate.Issuer.String(), Serial: pki.Intermediate.SerialNumber.Text(16), EffectiveFrom: from, Reason: "ca-compromise"}
	if _, err := trustC.RevokeCertificate(alice, ca); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("CA revocation by issuer and serial without approval: %v, want FailedPrecondition", err)
	}
	ca.ApprovalId = approve(server.ActionRevokeCA, caTarget)
	if _, err := trustC.RevokeCertificate(alice, ca); err != nil {
		t.Fatalf("approved CA revocation: %v", err)
	}
	// The archive-signing leaf certificate: its revocation stops the key
	// version like a key revocation, so it needs the second admin too.
	leafTarget := ledger.RevokeCertificateApprovalTarget(pki.Signing.Issuer.String(), pki.Signing.SerialNumber.Text(16), from.AsTime(), "superseded")
	leaf := &signerv1.RevokeCertificateRequest{Certificate: chain.CertificatePEM(pki.Signing), EffectiveFrom: from, Reason: "superseded"}
	if _, err := trustC.RevokeCertificate(alice, leaf); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(status.Convert(err).Message(), server.ActionRevokeSigningCrt) {
		t.Fatalf("signing certificate revocation without approval: %v, want FailedPrecondition naming %s", err, server.ActionRevokeSigningCrt)
	}
	leaf.ApprovalId = approve(server.ActionRevokeSigningCrt, leafTarget)
	if _, err := trustC.RevokeCertificate(alice, leaf); err != nil {
		t.Fatalf("approved signing certificate revocation: %v", err)
	}

	// The log proves the rule: three approvals used, each naming both
	// admins, and the two-person audit of the log finds nothing.
	sizeAfter := logSize(t, store)
	var used int
	audit := ledger.NewTwoPersonAudit()
	for l, err := range store.Log().Entries(ctx, 0, sizeAfter) {
		if err != nil {
			t.Fatal(err)
		}
		audit.Leaf(l.Index, l.Leaf)
		if l.Index < sizeBefore {
			continue
		}
		if leaf := string(l.Leaf); strings.Contains(leaf, `"approval-used"`) && strings.Contains(leaf, `"approved_by":"spiffe://appsign/security-admin/bob"`) &&
			strings.Contains(leaf, `"requested_by":"spiffe://appsign/security-admin/alice"`) {
			used++
		}
	}
	if used != 3 {
		t.Fatalf("%d log leaves record a used approval with both admins, want 3", used)
	}
	if f := audit.Finish(); len(f) != 0 {
		t.Fatalf("two-person audit of an honest log: %v", f)
	}
}

// devTrustAdmin is the TrustService configuration of `signer dev`: the
// dev root, marketplace CA and private-build CA, and the dev revocation
// signer, as service.DevConfig makes them under dir.
func devTrustAdmin(t *testing.T, dir string, pki *chain.DevPKI, reg *kms.Registry, store *revocationstore.Store, now time.Time) *server.TrustAdmin {
	t.Helper()
	dev, err := service.EnsureDevTrust(rand.Reader, dir, pki, now)
	if err != nil {
		t.Fatal(err)
	}
	admin := &server.TrustAdmin{Store: store, ListIssuer: dev.Revocation.Issuer, ListSignerCert: dev.ListSigner.Cert, Rand: rand.Reader}
	admin.ListSigner = mustLoad(t, reg, dev.ListSigner.KeyPath)
	certs := []*x509Cert{pki.Root, pki.Intermediate, dev.PrivateBuild.Cert}
	for i, ca := range dev.Revocation.CAs {
		uri, err := kms.ParseURI(ca.URI)
		if err != nil {
			t.Fatal(err)
		}
		admin.CAs = append(admin.CAs, server.CA{Name: ca.Name, Cert: certs[i], Signer: mustLoad(t, reg, uri.Get("path"))})
	}
	return admin
}

func mustLoad(t *testing.T, reg *kms.Registry, path string) kms.Signer {
	t.Helper()
	s, err := reg.LoadSigner(t.Context(), kms.NewURI(softkms.Scheme, map[string]string{"path": path}))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func logSize(t *testing.T, store *ledger.Store) int64 {
	t.Helper()
	tree, err := store.Log().Size(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tree.N
}

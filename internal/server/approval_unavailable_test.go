package server_test

import (
	"crypto/rand"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/auth/approvalpg"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/server"
)

// TestApprovalsDatabaseDownIsUnavailable: when the approvals' database is
// down, approval RPCs answer Unavailable (retry later), not Internal as
// they did before approvalpg classified database errors.
func TestApprovalsDatabaseDownIsUnavailable(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	c := pgtest.Cluster(t) // its own server, since the test stops it
	url, err := c.CreateDatabase(ctx, "approvals")
	if err != nil {
		t.Fatal(err)
	}
	store, pki := newLedgerAndPKIAt(t, dir, url)
	reg, err := kms.NewRegistry(softkms.New(softkms.Options{Dir: t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	keys := keystore.New(store.Pool(), reg, chain.Issuer{CA: pki.Intermediate, Validity: time.Hour, Rand: rand.Reader}, keystore.Options{})
	t.Cleanup(func() { keys.Close() })
	if _, err := keys.Import(ctx, "signing", keystore.RoleArchiveSigning, kms.NewURI(softkms.Scheme, map[string]string{"path": pki.SigningKeyPath}), pki.Signing, "test"); err != nil {
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
	approvals := signerv1.NewApprovalServiceClient(dial(t, srv))
	alice, bob := asAdmin(ctx, "alice"), asAdmin(ctx, "bob")
	req, err := approvals.RequestApproval(alice, &signerv1.RequestApprovalRequest{Action: server.ActionRotateCAKey, Target: "ca", Reason: "scheduled"})
	if err != nil {
		t.Fatal(err)
	}
	id := req.GetApproval().GetId()
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	calls := []struct {
		name string
		call func() error
	}{
		{"GetApproval", func() error { _, err := approvals.GetApproval(alice, &signerv1.GetApprovalRequest{Id: id}); return err }},
		{"RequestApproval", func() error {
			_, err := approvals.RequestApproval(alice, &signerv1.RequestApprovalRequest{Action: server.ActionRotateCAKey, Target: "ca", Reason: "again"})
			return err
		}},
		{"Approve", func() error { _, err := approvals.Approve(bob, &signerv1.ApproveRequest{Id: id}); return err }},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); status.Code(err) != codes.Unavailable {
				t.Errorf("err = %v, want Unavailable", err)
			}
		})
	}
}

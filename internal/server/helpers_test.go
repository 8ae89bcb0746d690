package server_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/server"
)

type x509Cert = x509.Certificate

func hexString(b []byte) string { return hex.EncodeToString(b) }

// newLedgerAndPKI returns a migrated ledger on a throwaway database and a
// dev PKI in dir.
func newLedgerAndPKI(t *testing.T, dir string) (*ledger.Store, *chain.DevPKI) {
	t.Helper()
	return newLedgerAndPKIAt(t, dir, pgtest.URL(t))
}

// newLedgerAndPKIAt is newLedgerAndPKI on the empty database at url.
func newLedgerAndPKIAt(t *testing.T, dir, url string) (*ledger.Store, *chain.DevPKI) {
	t.Helper()
	ctx := t.Context()
	if err := ledger.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	store, err := ledger.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	pki, err := chain.EnsureDevPKI(rand.Reader, dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return store, pki
}

// dial serves srv on an in-memory listener for the test's lifetime and
// returns a client connection to it.
func dial(t testing.TB, srv *server.Server) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	go srv.GRPC.Serve(lis)
	t.Cleanup(srv.GRPC.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// staticKeys is a KeySource with one key that never rotates.
type staticKeys struct{ Key *server.SigningKey }

func (s staticKeys) Active(context.Context) (*server.SigningKey, error) { return s.Key, nil }

func (s staticKeys) Lookup(_ context.Context, id string, version int32) (*server.SigningKey, error) {
	if id == s.Key.ID && version == s.Key.Version {
		return s.Key, nil
	}
	return nil, fmt.Errorf("test keys: %w: key %s v%d", kms.ErrKeyNotFound, id, version)
}

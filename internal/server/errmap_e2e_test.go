package server_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/awskms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/kmsemu"
	"github.com/appsign/signer/internal/kmsemu/emutest"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/server"
)

// TestKMSKeyRefusalsReachClientAsFailedPrecondition signs digests with an
// AWS KMS key (the real aws-sdk-go-v2 client against internal/kmsemu),
// then has the key's owner disable it, and then deny access to it, as a
// customer pulling the plug would. The pipeline gets FailedPrecondition
// with the fixed message saying what to do (never Unavailable, which
// clients retry), with only the request id it sent; the server's log has
// the AWS cause with the method and that request id.
func TestKMSKeyRefusalsReachClientAsFailedPrecondition(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	store, pki := newLedgerAndPKI(t, dir)
	emu, client := emutest.Start(t, kmsemu.Options{})
	backend, err := awskms.New(awskms.Options{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	key := backendKey(t, backend, pki, dir, "kms-refusals")
	arn := key.Signer.URI().Get("key-id")
	logs := &syncBuffer{}
	srv, err := server.New(ctx, server.Config{
		Ledger: store,
		Keys:   staticKeys{Key: key},
		Trust:  server.Trust{Roots: []*x509Cert{pki.Root}, Intermediates: []*x509Cert{pki.Intermediate}},
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	signer := signerv1.NewSignerServiceClient(dial(t, srv))
	if _, err := signer.SignDigest(ctx, digestReq([]byte("app 1"), "refusal-0")); err != nil {
		t.Fatalf("sign with the key enabled: %v", err)
	}

	steps := []struct {
		name      string
		requestID string
		apply     func() error
		wantMsg   string
		wantCause string
	}{
		{"disabled", "errmap-disabled-1", func() error { return emu.SetKeyEnabled(arn, false) },
			"the key this request needs is disabled in its key backend (or pending deletion); nothing was signed: enable it in the backend, or rotate to a new key (signerctl key rotate)",
			"DisabledException"},
		{"access denied", "errmap-denied-1", func() error {
			if err := emu.SetKeyEnabled(arn, true); err != nil {
				return err
			}
			return emu.DenyKey(arn, true)
		},
			"the key backend denied this service access to the key this request needs (key policy, IAM or PIN); nothing was signed: restore the service's access, or rotate to a new key (signerctl key rotate)",
			"AccessDeniedException"},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.apply(); err != nil {
				t.Fatal(err)
			}
			var header metadata.MD
			callCtx := metadata.AppendToOutgoingContext(ctx, server.RequestIDHeader, st.requestID)
			_, err := signer.SignDigest(callCtx, digestReq([]byte("app 2"), "refusal-"+st.requestID), grpc.Header(&header))
			got := status.Convert(err)
			want := st.wantMsg + " (request id " + st.requestID + ")"
			if got.Code() != codes.FailedPrecondition || got.Message() != want {
				t.Fatalf("%d: %v %q, want FailedPrecondition %q", i, got.Code(), got.Message(), want)
			}
			if h := header.Get(server.RequestIDHeader); len(h) != 1 || h[0] != st.requestID {
				t.Errorf("x-request-id header %v, want %s", h, st.requestID)
			}
			line := logLine(t, logs.String(), "request failed", st.requestID)
			if line["method"] != "/signer.v1.SignerService/SignDigest" || line["code"] != "FailedPrecondition" ||
				!strings.Contains(line["error"].(string), st.wantCause) || !strings.Contains(line["error"].(string), arn) {
				t.Errorf("log line %v: want the method, the code and the cause (%s on %s)", line, st.wantCause, arn)
			}
		})
	}
	if entries, err := store.List(ctx, ledger.Filter{Limit: 10}); err != nil || len(entries) != 1 {
		t.Fatalf("%d ledger entries (%v), want only the one signed while the key was enabled", len(entries), err)
	}
}

// logLine returns the JSON log line with message msg and request id id.
func logLine(t *testing.T, logs, msg, id string) map[string]any {
	t.Helper()
	for l := range strings.SplitSeq(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg && m["request_id"] == id {
			return m
		}
	}
	t.Fatalf("no %q log line with request id %s in:\n%s", msg, id, logs)
	return nil
}

// TestKeyServiceErrorsThroughTheMapping: KeyService's refusals, which used
// to reach the admin as the key store's own error text with its prefix
// cut off, now come through the one mapping. A field the request got
// wrong is named (keystore.RequestError); a state the admin must change
// gets the sentinel's fixed message with the request id; none carries
// the store's internal text.
func TestKeyServiceErrorsThroughTheMapping(t *testing.T) {
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
	srv, err := server.New(ctx, server.Config{
		Ledger: store, Keys: server.StoreKeys{Store: keys, Name: "signing"},
		Trust: server.Trust{Roots: []*x509Cert{pki.Root}, Intermediates: []*x509Cert{pki.Intermediate}},
	})
	if err != nil {
		t.Fatal(err)
	}
	client := signerv1.NewKeyServiceClient(dial(t, srv))
	soft := &signerv1.BackendSpec{Scheme: softkms.Scheme}
	tests := []struct {
		name string
		call func(ctx context.Context) error
		code codes.Code
		msg  string // the whole message, before any request id
	}{
		{"bad name", func(ctx context.Context) error {
			_, err := client.CreateKey(ctx, &signerv1.CreateKeyRequest{Name: "Bad Name", Role: "ca", Backend: soft})
			return err
		}, codes.InvalidArgument, `key name "Bad Name": want lowercase letters, digits and '-', starting with a letter, 2 to 63 long`},
		{"unknown backend", func(ctx context.Context) error {
			_, err := client.CreateKey(ctx, &signerv1.CreateKeyRequest{Name: "new-ca", Role: "ca", Backend: &signerv1.BackendSpec{Scheme: "nokms"}})
			return err
		}, codes.InvalidArgument, `key new-ca: backend "nokms" is not one this server serves`},
		{"name taken", func(ctx context.Context) error {
			_, err := client.CreateKey(ctx, &signerv1.CreateKeyRequest{Name: "signing", Role: "ca", Backend: soft})
			return err
		}, codes.AlreadyExists, "a key with this name exists (or the backend key is already one of its versions): choose another name, or rotate the existing key"},
		{"no such key", func(ctx context.Context) error {
			_, err := client.RotateKey(ctx, &signerv1.RotateKeyRequest{Name: "missing", Backend: soft})
			return err
		}, codes.NotFound, "no such key or key version: list them with signerctl key list"},
		{"retire the active version", func(ctx context.Context) error {
			_, err := client.RetireKey(ctx, &signerv1.RetireKeyRequest{Name: "signing", Version: 1})
			return err
		}, codes.FailedPrecondition, "that version is the key's active version; nothing was changed: rotate the key first (signerctl key rotate), then retire or revoke the old version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const id = "errmap-keys-0001"
			err := tc.call(metadata.AppendToOutgoingContext(ctx, server.RequestIDHeader, id))
			st := status.Convert(err)
			got, _ := strings.CutSuffix(st.Message(), " (request id "+id+")")
			if st.Code() != tc.code || got != tc.msg {
				t.Errorf("%v %q, want %v %q", st.Code(), st.Message(), tc.code, tc.msg)
			}
			if strings.Contains(st.Message(), "keystore:") {
				t.Errorf("message carries the key store's error text: %q", st.Message())
			}
		})
	}
}

package awskms_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha512"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	kmsapi "github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/awskms"
	"github.com/appsign/signer/internal/kms/awskms/awscall"
	"github.com/appsign/signer/internal/kms/kmstest"
	"github.com/appsign/signer/internal/kmsemu"
	"github.com/appsign/signer/internal/kmsemu/emutest"
)

// fastRetry keeps retry tests quick; production uses the defaults.
var fastRetry = awscall.Policy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

func newBackend(t testing.TB, c *kms.Client, opts awskms.Options) *awskms.Backend {
	t.Helper()
	opts.Client = c
	if opts.Retry.BaseDelay == 0 {
		opts.Retry = fastRetry
	}
	b, err := awskms.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

var keySeq atomic.Int64

func createKey(t testing.TB, b kmsapi.Backend) kmsapi.URI {
	t.Helper()
	uri, err := b.(kmsapi.KeyCreator).CreateKey(t.Context(), kmsapi.CreateKeyRequest{
		Name: fmt.Sprintf("signer/test-%d", keySeq.Add(1)), Purpose: "checkpoint-signing",
	})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return uri
}

func TestConformance(t *testing.T) {
	// The suite signs a 0-byte message, which real KMS refuses (Message has
	// a minimum length of 1); the emulator is told to accept it here only.
	// TestEmptyMessageRefusedByKMS pins the real behaviour.
	_, c := emutest.Start(t, kmsemu.Options{AllowEmptyMessage: true})
	kmstest.Run(t, kmstest.Harness{
		NewBackend: func(t *testing.T) kmsapi.Backend { return newBackend(t, c, awskms.Options{}) },
		NewKey:     func(t *testing.T, b kmsapi.Backend) kmsapi.URI { return createKey(t, b) },
		MissingKey: kmsapi.MustParseURI("awskms:key-id=alias/does-not-exist"),
		MalformedKeys: []kmsapi.URI{
			kmsapi.MustParseURI("awskms:"),
			kmsapi.MustParseURI("awskms:key=alias/x"),
			kmsapi.MustParseURI("awskms:key-id=alias/x;color=red"),
			kmsapi.MustParseURI("awskms:key-id=arn:aws:s3:::bucket"),
			kmsapi.MustParseURI("awskms:key-id=arn:aws:kms:eu-west-1:111122223333:key%2Fabc;region=us-east-1"),
			kmsapi.MustParseURI("softkms:path=/x.key"),
		},
		Secrets: []string{emutest.SecretAccessKey},
	})
}

func TestOversizeRefusedBeforeKMS(t *testing.T) {
	srv, c := emutest.Start(t, kmsemu.Options{})
	b := newBackend(t, c, awskms.Options{})
	s, err := b.LoadSigner(t.Context(), createKey(t, b))
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	if _, err := s.SignMessage(t.Context(), make([]byte, 4097)); !errors.Is(err, kmsapi.ErrMessageTooLarge) {
		t.Fatalf("SignMessage(4097 bytes) = %v, want ErrMessageTooLarge", err)
	}
	if n := srv.Calls("Sign"); n != 0 {
		t.Fatalf("KMS Sign was called %d times for an oversized message", n)
	}
	if _, err := s.SignMessage(t.Context(), make([]byte, 4096)); err != nil {
		t.Fatalf("SignMessage(4096 bytes): %v", err)
	}
}

func TestEmptyMessageRefusedByKMS(t *testing.T) {
	_, c := emutest.Start(t, kmsemu.Options{})
	b := newBackend(t, c, awskms.Options{})
	s, err := b.LoadSigner(t.Context(), createKey(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignMessage(t.Context(), nil); !errors.Is(err, kmsapi.ErrUnsupported) {
		t.Fatalf("SignMessage(empty) = %v, want ErrUnsupported from KMS's ValidationException", err)
	}
}

func TestPrehashIsEd25519ph(t *testing.T) {
	_, c := emutest.Start(t, kmsemu.Options{})
	b := newBackend(t, c, awskms.Options{})
	s, err := b.LoadSigner(t.Context(), createKey(t, b))
	if err != nil {
		t.Fatal(err)
	}
	ps := s.(kmsapi.PrehashSigner)
	digest := sha512.Sum512([]byte("a 200 MB archive, hashed elsewhere"))
	sig, err := ps.SignPrehashed(t.Context(), digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := ed25519.VerifyWithOptions(s.Public(), digest[:], sig, &ed25519.Options{Hash: crypto.SHA512}); err != nil {
		t.Fatalf("prehash signature does not verify as Ed25519ph: %v", err)
	}
	if ed25519.Verify(s.Public(), digest[:], sig) {
		t.Fatal("prehash signature verifies as pure Ed25519 over the digest")
	}
	if _, err := ps.SignPrehashed(t.Context(), digest[:32]); err == nil {
		t.Fatal("SignPrehashed accepted a 32-byte digest")
	}
}

func TestURIIsKeyARN(t *testing.T) {
	_, c := emutest.Start(t, kmsemu.Options{})
	b := newBackend(t, c, awskms.Options{})
	created, err := b.CreateKey(t.Context(), kmsapi.CreateKeyRequest{Name: "ledger", Purpose: "checkpoint-signing"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"awskms:key-id=alias/ledger", "awskms:key-id=alias/ledger;region=us-east-1", created.String()} {
		s, err := b.LoadSigner(t.Context(), kmsapi.MustParseURI(ref))
		if err != nil {
			t.Fatalf("LoadSigner(%s): %v", ref, err)
		}
		if s.URI().String() != created.String() {
			t.Errorf("LoadSigner(%s).URI() = %s, want %s", ref, s.URI(), created)
		}
		s.Close()
	}
}

func TestRejectsNonEd25519Key(t *testing.T) {
	_, c := emutest.Start(t, kmsemu.Options{})
	out, err := c.CreateKey(t.Context(), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	b := newBackend(t, c, awskms.Options{})
	uri := kmsapi.NewURI(awskms.Scheme, map[string]string{"key-id": *out.KeyMetadata.KeyId})
	if _, err := b.LoadSigner(t.Context(), uri); err == nil {
		t.Fatal("LoadSigner accepted a symmetric key")
	}
}

func TestCreateAndDestroy(t *testing.T) {
	srv, c := emutest.Start(t, kmsemu.Options{})
	b := newBackend(t, c, awskms.Options{})
	ctx := t.Context()
	req := kmsapi.CreateKeyRequest{Name: "ca-2026", Purpose: "certificate-authority"}
	uri, err := b.CreateKey(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	if _, err := b.CreateKey(ctx, req); err == nil {
		t.Fatal("CreateKey with a taken name succeeded")
	}
	if srv.Calls("ScheduleKeyDeletion") != 1 {
		t.Fatal("the key whose alias failed was not scheduled for deletion")
	}
	if err := b.DestroyKey(ctx, uri); err != nil {
		t.Fatalf("DestroyKey: %v", err)
	}
	if err := b.DestroyKey(ctx, uri); err != nil {
		t.Fatalf("DestroyKey again: %v", err)
	}
	if _, err := b.LoadSigner(ctx, uri); !errors.Is(err, kmsapi.ErrKeyDisabled) {
		t.Fatalf("LoadSigner(pending deletion) = %v, want ErrKeyDisabled", err)
	}
	if _, err := b.CreateKey(ctx, req); err != nil {
		t.Fatalf("name not free after DestroyKey: %v", err)
	}
	for _, bad := range []kmsapi.CreateKeyRequest{{Name: ""}, {Name: "aws/x"}, {Name: "a b"}, {Name: "ok", Attrs: map[string]string{"token": "x"}}} {
		if _, err := b.CreateKey(ctx, bad); err == nil {
			t.Errorf("CreateKey(%+v) succeeded", bad)
		}
	}
}

func TestNewClientFromEnvironment(t *testing.T) {
	srv, c := emutest.Start(t, kmsemu.Options{})
	_ = srv
	url := *c.Options().BaseEndpoint
	t.Setenv("AWS_ACCESS_KEY_ID", emutest.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", emutest.SecretAccessKey)
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	client, err := awskms.NewClient(t.Context(), awskms.ClientConfig{Region: "us-east-1", BaseEndpoint: url})
	if err != nil {
		t.Fatal(err)
	}
	b := newBackend(t, client, awskms.Options{})
	s, err := b.LoadSigner(t.Context(), createKey(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignMessage(t.Context(), []byte("checkpoint")); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkSign(b *testing.B) {
	_, c := emutest.Start(b, kmsemu.Options{})
	be := newBackend(b, c, awskms.Options{})
	s, err := be.LoadSigner(b.Context(), createKey(b, be))
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 1024)
	for b.Loop() {
		if _, err := s.SignMessage(b.Context(), msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sig/s")
}

package server_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms/awskms"
	"github.com/appsign/signer/internal/server"
	"github.com/appsign/signer/internal/statement"
)

func digestReq(archive []byte, idem string) *signerv1.SignDigestRequest {
	s256, s512 := sha256.Sum256(archive), sha512.Sum512(archive)
	return &signerv1.SignDigestRequest{
		AppKey: "com.example.digest", Version: "1.0.0", Track: signerv1.Track_TRACK_MARKETPLACE,
		ReviewRef: "review-9", IdempotencyKey: idem, ArchiveSize: int64(len(archive)),
		Sha256: s256[:], Sha512: s512[:],
	}
}

// TestSignDigestWithKMSKey: a KMS-native key, which cannot pure-sign a
// large archive, signs the digest statement of one; the statement verifies
// against the archive, the ledger keeps the statement, retries replay.
func TestSignDigestWithKMSKey(t *testing.T) {
	archive := bytes.Repeat([]byte("large archive "), 1<<18) // 3.5 MiB
	e := newEnvWithKey(t, 0, nil, func(t *testing.T, pki *chain.DevPKI, dir string) *server.SigningKey {
		b, err := awskms.New(awskms.Options{Client: kmsClient(t)})
		if err != nil {
			t.Fatal(err)
		}
		return backendKey(t, b, pki, dir, "kms-native")
	})
	resp, err := e.client.SignDigest(t.Context(), digestReq(archive, "d-1"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := statement.ParseFile(resp.GetSignatureFile())
	if err != nil {
		t.Fatal(err)
	}
	res, err := statement.Verify(t.Context(), e.trust, f, bytes.NewReader(archive), time.Now())
	if err != nil {
		t.Fatalf("digest signature does not verify: %v", err)
	}
	if res.Statement.KeyID != "kms-native" || res.Statement.AppKey != "com.example.digest" {
		t.Fatalf("statement = %+v", res.Statement)
	}
	if _, err := statement.Verify(t.Context(), e.trust, f, bytes.NewReader(archive[1:]), time.Now()); !errors.Is(err, statement.ErrDigestMismatch) {
		t.Fatalf("other archive: %v, want ErrDigestMismatch", err)
	}
	entry, err := e.store.Get(t.Context(), resp.GetEntryId())
	if err != nil || entry.Profile != "digest-v1" || !bytes.Equal(entry.Statement, resp.GetStatement()) {
		t.Fatalf("ledger entry %+v, %v", entry, err)
	}
	again, err := e.client.SignDigest(t.Context(), digestReq(archive, "d-1"))
	if err != nil || !again.GetReplayed() || again.GetEntryId() != resp.GetEntryId() || !bytes.Equal(again.GetSignatureFile(), resp.GetSignatureFile()) {
		t.Fatalf("retry = %v, %v; want replay of entry %d", again, err, resp.GetEntryId())
	}
	if _, err := e.client.SignDigest(t.Context(), digestReq(archive[:100], "d-1")); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("other digest under a used key: %v, want AlreadyExists", err)
	}
}

func TestSignDigestRejectsBadInput(t *testing.T) {
	e := newEnv(t, 1<<20, nil)
	mut := func(f func(r *signerv1.SignDigestRequest)) *signerv1.SignDigestRequest {
		r := digestReq([]byte("archive"), "k")
		f(r)
		return r
	}
	tests := []struct {
		name string
		req  *signerv1.SignDigestRequest
	}{
		{"zero size", mut(func(r *signerv1.SignDigestRequest) { r.ArchiveSize = 0 })},
		{"over max size", mut(func(r *signerv1.SignDigestRequest) { r.ArchiveSize = 2 << 20 })},
		{"short sha256", mut(func(r *signerv1.SignDigestRequest) { r.Sha256 = r.Sha256[:31] })},
		{"no sha512", mut(func(r *signerv1.SignDigestRequest) { r.Sha512 = nil })},
		{"bad app key", mut(func(r *signerv1.SignDigestRequest) { r.AppKey = "x" })},
		{"no idempotency key", mut(func(r *signerv1.SignDigestRequest) { r.IdempotencyKey = "" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.client.SignDigest(t.Context(), tt.req); status.Code(err) != codes.InvalidArgument {
				t.Fatalf("got %v, want InvalidArgument", err)
			}
		})
	}
	if n := e.rows(t); n != 0 {
		t.Fatalf("%d rows after rejected requests", n)
	}
}

package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
)

// passCounter counts how a streaming key is asked to sign.
type passCounter struct {
	kms.StreamSigner
	whole, streamed *atomic.Int32
}

func (c passCounter) SignMessage(ctx context.Context, msg []byte) ([]byte, error) {
	c.whole.Add(1)
	return c.StreamSigner.SignMessage(ctx, msg)
}

func (c passCounter) SignStream(ctx context.Context, msg io.ReaderAt, size int64) ([]byte, error) {
	c.streamed.Add(1)
	return c.StreamSigner.SignStream(ctx, msg, size)
}

// TestSmallArchiveSignedWhole: an archive small enough to be held in
// memory (64 KiB) is signed in one SignMessage call even by a key that
// streams, so it is read once to sign instead of twice; a larger one
// streams. Both signature files verify against the trust store.
func TestSmallArchiveSignedWhole(t *testing.T) {
	var whole, streamed atomic.Int32
	e := newBatchEnvWrapped(t, func(s kms.Signer) kms.Signer {
		return passCounter{StreamSigner: s.(kms.StreamSigner), whole: &whole, streamed: &streamed}
	})
	ts := chain.NewTrustStore(e.pki.Root, e.pki.Intermediate)
	for _, tc := range []struct {
		name                string
		size                int
		wantWhole, wantStrm int32
	}{
		{"1 KiB", 1 << 10, 1, 0},
		{"64 KiB, the memory limit", 64 << 10, 1, 0},
		{"64 KiB + 1 byte", 64<<10 + 1, 0, 1},
	} {
		whole.Store(0)
		streamed.Store(0)
		archive := bytes.Repeat([]byte("PK small "), tc.size/9+1)[:tc.size]
		stream, err := e.signer.SignArchive(t.Context())
		must(t, err)
		must(t, stream.Send(meta("com.example.small", "1.0.0", fmt.Sprintf("small-%d", tc.size))))
		for off := 0; off < len(archive); off += 16 << 10 {
			must(t, stream.Send(chunk(archive[off:min(off+16<<10, len(archive))])))
		}
		resp, err := stream.CloseAndRecv()
		must(t, err)
		if whole.Load() != tc.wantWhole || streamed.Load() != tc.wantStrm {
			t.Errorf("%s: %d whole-message and %d streamed signatures, want %d and %d", tc.name, whole.Load(), streamed.Load(), tc.wantWhole, tc.wantStrm)
		}
		sf, err := chain.ParseSignatureFile(resp.GetSignatureFile())
		must(t, err)
		if _, err := ts.Verify(t.Context(), sf, bytes.NewReader(archive), time.Now()); err != nil {
			t.Errorf("%s: signature file does not verify: %v", tc.name, err)
		}
	}
}

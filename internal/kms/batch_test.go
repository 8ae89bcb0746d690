package kms_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"

	"github.com/appsign/signer/internal/kms"
)

// TestSignMessagesFaultFailsAlone plays each faulty backend on one message
// of a batch (first, middle, last): that item fails with ErrBackendFault
// and no signature, onFault hears of it once, and every other item gets
// its valid signature, through Verified's batch path and through
// SignMessages on a signer that verifies nothing itself.
func TestSignMessagesFaultFailsAlone(t *testing.T) {
	var msgs [][]byte
	for i := range 20 {
		msgs = append(msgs, fmt.Appendf(nil, "statement %d", i))
	}
	for _, tc := range faults {
		for _, bad := range []int{0, 9, 19} {
			t.Run(fmt.Sprintf("%s/item %d", tc.name, bad), func(t *testing.T) {
				s := &faultySigner{t: t, priv: newTestKey(t), sign: func(t *testing.T, priv ed25519.PrivateKey, msg []byte, pure bool) []byte {
					if bytes.Equal(msg, msgs[bad]) {
						return tc.f(t, priv, msg, pure)
					}
					return honest(t, priv, msg, pure)
				}}
				var c faultCounter
				for name, signer := range map[string]kms.Signer{"verified": kms.Verified(s, c.onFault), "unverified": s} {
					c.uris = nil
					sigs, errs := kms.SignMessages(t.Context(), signer, msgs)
					for i := range msgs {
						if i == bad {
							if !errors.Is(errs[i], kms.ErrBackendFault) || sigs[i] != nil {
								t.Errorf("%s: bad item: sig %x, err %v; want no signature, ErrBackendFault", name, sigs[i], errs[i])
							}
							continue
						}
						if errs[i] != nil || !ed25519.Verify(s.Public(), msgs[i], sigs[i]) {
							t.Errorf("%s: good item %d: err %v, or its signature does not verify", name, i, errs[i])
						}
					}
					if name == "verified" {
						c.check(t, 1)
					}
				}
			})
		}
	}
}

// TestSignMessagesBackendError: a backend error fails its item alone and
// is not a fault.
func TestSignMessagesBackendError(t *testing.T) {
	boom := errors.New("hsm session lost")
	s := &faultySigner{t: t, priv: newTestKey(t), sign: honest}
	flaky := flakySigner{faultySigner: s, failOn: []byte("b"), err: boom}
	var c faultCounter
	sigs, errs := kms.SignMessages(t.Context(), kms.Verified(flaky, c.onFault), [][]byte{[]byte("a"), []byte("b"), []byte("c")})
	if !errors.Is(errs[1], boom) || sigs[1] != nil {
		t.Errorf("failed item: sig %x err %v, want the backend's error", sigs[1], errs[1])
	}
	for _, i := range []int{0, 2} {
		if errs[i] != nil || len(sigs[i]) != ed25519.SignatureSize {
			t.Errorf("item %d: %v", i, errs[i])
		}
	}
	c.check(t, 0)
}

// flakySigner fails SignMessage for one message.
type flakySigner struct {
	*faultySigner
	failOn []byte
	err    error
}

func (s flakySigner) SignMessage(ctx context.Context, msg []byte) ([]byte, error) {
	if bytes.Equal(msg, s.failOn) {
		return nil, s.err
	}
	return s.faultySigner.SignMessage(ctx, msg)
}

package kms

import (
	"context"
	"crypto/ed25519"
	"runtime"
	"sync"

	"github.com/appsign/signer/internal/eddsa"
)

// BatchSigner is a Signer that signs many messages in one call, in
// parallel, checking the signatures together. Verified signers are
// BatchSigners; wrappers (metrics) pass the capability on.
type BatchSigner interface {
	Signer
	// SignMessages returns, for each msgs[i], its pure Ed25519 signature
	// or the error that item alone failed with.
	SignMessages(ctx context.Context, msgs [][]byte) (sigs [][]byte, errs []error)
}

// SignMessages signs every message with s, in parallel across cores (and
// across backend calls), and returns one signature or error per message.
// As with SignMessage on a Verified signer, no signature is returned that
// has not been checked against s.Public(); the whole batch is checked in
// one batch verification (eddsa.VerifyBatch), and only when that fails is
// each checked alone, so that a faulty signature fails its own item with
// ErrBackendFault and the others are still returned.
func SignMessages(ctx context.Context, s Signer, msgs [][]byte) ([][]byte, []error) {
	if bs, ok := s.(BatchSigner); ok {
		return bs.SignMessages(ctx, msgs)
	}
	sigs, errs := signEach(ctx, s, msgs)
	verifyBatch(s.Public(), msgs, sigs, errs, func(int) error { return ErrBackendFault })
	return sigs, errs
}

// SignMessages implements BatchSigner: the inner signer signs, and the
// batch is verified once instead of every signature alone.
func (v *verified) SignMessages(ctx context.Context, msgs [][]byte) ([][]byte, []error) {
	sigs, errs := signEach(ctx, v.Signer, msgs)
	verifyBatch(v.Public(), msgs, sigs, errs, func(int) error { return v.fault("sign message") })
	return sigs, errs
}

// signWorkers is how many signatures of one batch are made at once: every
// core for software keys, and enough calls in flight to hide the round
// trips of a remote backend (KMS, HSM).
func signWorkers(n int) int { return min(n, max(runtime.GOMAXPROCS(0), 16)) }

// signEach calls SignMessage for every message, signWorkers at a time.
func signEach(ctx context.Context, s Signer, msgs [][]byte) ([][]byte, []error) {
	sigs, errs := make([][]byte, len(msgs)), make([]error, len(msgs))
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	for range signWorkers(len(msgs)) {
		wg.Go(func() {
			for {
				next.Lock()
				j := i
				i++
				next.Unlock()
				if j >= len(msgs) {
					return
				}
				sigs[j], errs[j] = s.SignMessage(ctx, msgs[j])
			}
		})
	}
	wg.Wait()
	return sigs, errs
}

// verifyBatch checks the signatures that have no error yet together and,
// when the batch fails, each alone: a bad one is cleared and its error set
// to fault(i). A signature of the wrong length is bad without a check.
func verifyBatch(pub ed25519.PublicKey, msgs, sigs [][]byte, errs []error, fault func(i int) error) {
	var idx []int
	var ms, ss [][]byte
	for i := range sigs {
		if errs[i] != nil {
			continue
		}
		if len(sigs[i]) != ed25519.SignatureSize {
			sigs[i], errs[i] = nil, fault(i)
			continue
		}
		idx, ms, ss = append(idx, i), append(ms, msgs[i]), append(ss, sigs[i])
	}
	if eddsa.VerifyBatch(pub, ms, ss) == nil {
		return
	}
	for _, i := range idx {
		if !ed25519.Verify(pub, msgs[i], sigs[i]) {
			sigs[i], errs[i] = nil, fault(i)
		}
	}
}

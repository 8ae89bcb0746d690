package kms

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"fmt"
	"io"

	"github.com/appsign/signer/internal/eddsa"
)

// Verified wraps s so that every signature it returns has been checked in
// software against s.Public(). A signature that does not verify is never
// returned: the call fails with ErrBackendFault and onFault (if non-nil) is
// called so the fault can be counted. The wrapper keeps the optional
// StreamSigner and PrehashSigner capabilities of s.
func Verified(s Signer, onFault func(URI)) Signer {
	// Already verified (the registry wraps what it loads, and callers such as
	// the log's note signer wrap again): verifying twice would only double
	// the cost, and the inner wrapper already reports faults.
	switch s.(type) {
	case *verified, *verifiedStream, *verifiedPrehash, *verifiedStreamPrehash:
		return s
	}
	v := &verified{Signer: s, onFault: onFault}
	ss, streams := s.(StreamSigner)
	ps, prehash := s.(PrehashSigner)
	switch {
	case streams && prehash:
		return &verifiedStreamPrehash{verifiedStream{v, ss}, ps}
	case streams:
		return &verifiedStream{v, ss}
	case prehash:
		return &verifiedPrehash{v, ps}
	}
	return v
}

type verified struct {
	Signer
	onFault func(URI)
}

// SignaturesVerified marks Verified signers (see the function).
func (v *verified) SignaturesVerified() bool { return true }

// SignaturesVerified reports whether every signature s returns has already
// been checked in software: s is a Verified signer, or a wrapper that says
// its inner signer is. Callers can then skip a second check (one Ed25519
// verification is the largest cost of a small signature).
func SignaturesVerified(s Signer) bool {
	v, ok := s.(interface{ SignaturesVerified() bool })
	return ok && v.SignaturesVerified()
}

func (v *verified) fault(op string) error {
	if v.onFault != nil {
		v.onFault(v.URI())
	}
	return fmt.Errorf("%w: %s with %s", ErrBackendFault, op, v.URI())
}

func (v *verified) SignMessage(ctx context.Context, msg []byte) ([]byte, error) {
	sig, err := v.Signer.SignMessage(ctx, msg)
	if err != nil {
		return nil, err
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(v.Public(), msg, sig) {
		return nil, v.fault("sign message")
	}
	return sig, nil
}

type verifiedStream struct {
	*verified
	ss StreamSigner
}

func (v *verifiedStream) SignStream(ctx context.Context, msg io.ReaderAt, size int64) ([]byte, error) {
	sig, err := v.ss.SignStream(ctx, msg, size)
	if err != nil {
		return nil, err
	}
	if err := eddsa.Verify(ctx, v.Public(), io.NewSectionReader(msg, 0, size), sig); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, v.fault("sign stream")
	}
	return sig, nil
}

type verifiedPrehash struct {
	*verified
	ps PrehashSigner
}

func (v *verifiedPrehash) SignPrehashed(ctx context.Context, digest []byte) ([]byte, error) {
	return signPrehashedVerified(ctx, v.verified, v.ps, digest)
}

type verifiedStreamPrehash struct {
	verifiedStream
	ps PrehashSigner
}

func (v *verifiedStreamPrehash) SignPrehashed(ctx context.Context, digest []byte) ([]byte, error) {
	return signPrehashedVerified(ctx, v.verified, v.ps, digest)
}

func signPrehashedVerified(ctx context.Context, v *verified, ps PrehashSigner, digest []byte) ([]byte, error) {
	sig, err := ps.SignPrehashed(ctx, digest)
	if err != nil {
		return nil, err
	}
	// A backend that silently returns a pure signature here (SoftHSM2 does)
	// fails this check instead of producing a signature nobody can verify.
	if err := ed25519.VerifyWithOptions(v.Public(), digest, sig, &ed25519.Options{Hash: crypto.SHA512}); err != nil {
		return nil, v.fault("sign prehashed")
	}
	return sig, nil
}

package server

import (
	"context"
	"io"

	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/metrics"
)

// meteredKeys is a KeySource whose signers count signatures and backend
// errors. Only Active is wrapped: Lookup serves replays, which sign nothing.
type meteredKeys struct {
	KeySource
	m *metrics.Metrics
}

// Active implements KeySource.
func (k meteredKeys) Active(ctx context.Context) (*SigningKey, error) {
	key, err := k.KeySource.Active(ctx)
	if err != nil {
		return nil, err
	}
	out := *key
	out.Signer = meteredSigner(key.Signer, key.ID, k.m)
	return &out, nil
}

// meteredSigner wraps s, keeping its StreamSigner capability (the signing
// path chooses streaming by type assertion).
func meteredSigner(s kms.Signer, key string, m *metrics.Metrics) kms.Signer {
	ms := &signerMeter{Signer: s, key: key, m: m}
	if ss, ok := s.(kms.StreamSigner); ok {
		return &streamSignerMeter{signerMeter: ms, ss: ss}
	}
	return ms
}

type signerMeter struct {
	kms.Signer
	key string
	m   *metrics.Metrics
}

// SignaturesVerified passes on whether the inner signer checks its
// signatures (kms.SignaturesVerified).
func (s *signerMeter) SignaturesVerified() bool { return kms.SignaturesVerified(s.Signer) }

func (s *signerMeter) observe(err error) {
	backend := s.URI().Scheme
	if err != nil {
		s.m.BackendError(backend, metrics.ErrorClass(err))
		return
	}
	s.m.Signed(backend, s.key)
}

func (s *signerMeter) SignMessage(ctx context.Context, msg []byte) ([]byte, error) {
	sig, err := s.Signer.SignMessage(ctx, msg)
	s.observe(err)
	return sig, err
}

type streamSignerMeter struct {
	*signerMeter
	ss kms.StreamSigner
}

func (s *streamSignerMeter) SignStream(ctx context.Context, msg io.ReaderAt, size int64) ([]byte, error) {
	sig, err := s.ss.SignStream(ctx, msg, size)
	s.observe(err)
	return sig, err
}

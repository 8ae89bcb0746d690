package server

import (
	"context"
	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/ledger"
)

type keyService struct {
	signerv1.UnimplementedKeyServiceServer
	cfg *Config
}

// CreateKey implements signerv1.KeyServiceServer.
func (s *keyService) CreateKey(ctx context.Context, req *signerv1.CreateKeyRequest) (*signerv1.CreateKeyResponse, error) {
	_, err := s.cfg.keyStore.Create(ctx, req.GetName(), keystore.Role(req.GetRole()), backendSpec(req.GetBackend()), s.cfg.Caller(ctx))
	if err != nil {
		return nil, err
	}
	k, err := s.get(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &signerv1.CreateKeyResponse{Key: k}, nil
}

// ListKeys implements signerv1.KeyServiceServer.
func (s *keyService) ListKeys(ctx context.Context, _ *signerv1.ListKeysRequest) (*signerv1.ListKeysResponse, error) {
	keys, err := s.cfg.keyStore.List(ctx)
	if err != nil {
		return nil, err
	}
	resp := &signerv1.ListKeysResponse{}
	for _, k := range keys {
		resp.Keys = append(resp.Keys, keyProto(k))
	}
	return resp, nil
}

// RotateKey implements signerv1.KeyServiceServer.
func (s *keyService) RotateKey(ctx context.Context, req *signerv1.RotateKeyRequest) (*signerv1.RotateKeyResponse, error) {
	current, err := s.cfg.keyStore.Get(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	if current.Role == keystore.RoleCA {
		spec := backendSpec(req.GetBackend())
		if err := s.cfg.requireApproval(ctx, req.GetApprovalId(), ActionRotateCAKey, ledger.RotateCAKeyApprovalTarget(req.GetName(), spec.Scheme, spec.Attrs)); err != nil {
			return nil, err
		}
	}
	if _, err := s.cfg.keyStore.Rotate(ctx, req.GetName(), backendSpec(req.GetBackend()), s.cfg.Caller(ctx)); err != nil {
		return nil, err
	}
	k, err := s.get(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &signerv1.RotateKeyResponse{Key: k}, nil
}

// RetireKey implements signerv1.KeyServiceServer.
func (s *keyService) RetireKey(ctx context.Context, req *signerv1.RetireKeyRequest) (*signerv1.RetireKeyResponse, error) {
	if req.GetVersion() <= 0 {
		return nil, invalidArg("version must be a positive key version")
	}
	if err := s.cfg.keyStore.Retire(ctx, req.GetName(), req.GetVersion(), s.cfg.Caller(ctx)); err != nil {
		return nil, err
	}
	k, err := s.get(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &signerv1.RetireKeyResponse{Key: k}, nil
}

func (s *keyService) get(ctx context.Context, name string) (*signerv1.Key, error) {
	k, err := s.cfg.keyStore.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return keyProto(k), nil
}

func backendSpec(b *signerv1.BackendSpec) keystore.BackendSpec {
	return keystore.BackendSpec{Scheme: b.GetScheme(), Attrs: b.GetAttributes()}
}

func keyProto(k keystore.Key) *signerv1.Key {
	out := &signerv1.Key{Name: k.Name, Role: string(k.Role)}
	for _, v := range k.Versions {
		pv := &signerv1.KeyVersion{
			Version:    v.Version,
			State:      keyState(v.State),
			BackendUri: v.BackendURI.String(),
			Backend:    v.BackendURI.Scheme,
			PublicKey:  v.PublicKey,
			CreatedAt:  timestamppb.New(v.CreatedAt),
		}
		if v.Cert != nil {
			pv.CertificatePem = string((&SigningKey{Cert: v.Cert}).CertPEM())
			pv.CertificateSerial = serialHex(v.Cert)
			pv.CertificateNotAfter = timestamppb.New(v.Cert.NotAfter)
		}
		if v.RetiredAt != nil {
			pv.RetiredAt = timestamppb.New(*v.RetiredAt)
		}
		out.Versions = append(out.Versions, pv)
	}
	return out
}

func keyState(s keystore.State) signerv1.KeyState {
	switch s {
	case keystore.StateActive:
		return signerv1.KeyState_KEY_STATE_ACTIVE
	case keystore.StateRetired:
		return signerv1.KeyState_KEY_STATE_RETIRED
	case keystore.StateRevoked:
		return signerv1.KeyState_KEY_STATE_REVOKED
	}
	return signerv1.KeyState_KEY_STATE_UNSPECIFIED
}

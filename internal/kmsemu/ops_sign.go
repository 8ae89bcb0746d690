package kmsemu

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/x509"
	"slices"
)

// maxSignMessage is the largest RAW message (and DIGEST) KMS Sign accepts.
const maxSignMessage = 4096

func (s *Server) getPublicKey(body []byte) (any, *apiError) {
	var in keyIDInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	k, e := s.usableLocked(in.KeyId, "GetPublicKey")
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	if k.Spec != SpecEd25519 {
		return nil, errorf("UnsupportedOperationException", "%s is a symmetric key and has no public key", s.keyARN(k.ID))
	}
	der, err := x509.MarshalPKIXPublicKey(k.priv.Public())
	if err != nil {
		return nil, internalError("kmsemu: encode public key")
	}
	return struct {
		KeyId                 string
		KeySpec               string
		CustomerMasterKeySpec string
		KeyUsage              string
		PublicKey             []byte
		SigningAlgorithms     []string
	}{s.keyARN(k.ID), k.Spec, k.Spec, k.Usage, der, []string{AlgEd25519, AlgEd25519ph}}, nil
}

type signInput struct {
	KeyId            string
	Message          []byte
	MessageType      string
	SigningAlgorithm string
	Signature        []byte
}

// signingKey resolves the key of a Sign or Verify request and checks the
// algorithm and message rules KMS applies to Ed25519 keys.
func (s *Server) signingKey(in *signInput, op string) (*key, *apiError) {
	s.mu.Lock()
	k, e := s.usableLocked(in.KeyId, op)
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	if k.Usage != UsageSignVerify {
		return nil, errorf("InvalidKeyUsageException", "%s key usage is %s which is not valid for %s.", s.keyARN(k.ID), k.Usage, op)
	}
	if in.MessageType == "" {
		in.MessageType = "RAW"
	}
	minLen := 1
	if s.opts.AllowEmptyMessage {
		minLen = 0
	}
	if len(in.Message) < minLen || len(in.Message) > maxSignMessage {
		return nil, validationf("1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length between 1 and %d", maxSignMessage)
	}
	switch {
	case !slices.Contains([]string{AlgEd25519, AlgEd25519ph}, in.SigningAlgorithm):
		return nil, errorf("InvalidKeyUsageException", "Algorithm %s is incompatible with key spec %s.", in.SigningAlgorithm, k.Spec)
	case in.SigningAlgorithm == AlgEd25519 && in.MessageType != "RAW":
		return nil, validationf("%s requires MessageType RAW", AlgEd25519)
	case in.SigningAlgorithm == AlgEd25519ph && in.MessageType != "DIGEST":
		return nil, validationf("%s requires MessageType DIGEST", AlgEd25519ph)
	case in.MessageType == "DIGEST" && len(in.Message) != sha512.Size:
		return nil, validationf("Digest is invalid length for algorithm %s.", in.SigningAlgorithm)
	}
	return k, nil
}

func ed25519Options(alg string) *ed25519.Options {
	if alg == AlgEd25519ph {
		return &ed25519.Options{Hash: crypto.SHA512}
	}
	return &ed25519.Options{}
}

func (s *Server) sign(body []byte) (any, *apiError) {
	var in signInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	k, e := s.signingKey(&in, "Sign")
	if e != nil {
		return nil, e
	}
	sig, err := k.priv.Sign(nil, in.Message, ed25519Options(in.SigningAlgorithm))
	if err != nil {
		return nil, internalError("kmsemu: sign failed")
	}
	return struct {
		KeyId            string
		Signature        []byte
		SigningAlgorithm string
	}{s.keyARN(k.ID), sig, in.SigningAlgorithm}, nil
}

// verify answers KMSInvalidSignatureException for a bad signature, as KMS does.
func (s *Server) verify(body []byte) (any, *apiError) {
	var in signInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	k, e := s.signingKey(&in, "Verify")
	if e != nil {
		return nil, e
	}
	pub := k.priv.Public().(ed25519.PublicKey)
	if err := ed25519.VerifyWithOptions(pub, in.Message, in.Signature, ed25519Options(in.SigningAlgorithm)); err != nil {
		return nil, errorf("KMSInvalidSignatureException", "signature is not valid")
	}
	return struct {
		KeyId            string
		SignatureValid   bool
		SigningAlgorithm string
	}{s.keyARN(k.ID), true, in.SigningAlgorithm}, nil
}

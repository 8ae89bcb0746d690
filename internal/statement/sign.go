package statement

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
)

// Sign returns the pure Ed25519 signature of st.Marshal() by s: one
// SignMessage call of at most MaxSize bytes, which every backend accepts,
// AWS KMS (ED25519_SHA_512, MessageType RAW) included. The signature is
// checked against s.Public() before it is returned, whatever s is; one
// that does not verify fails with kms.ErrBackendFault.
func Sign(ctx context.Context, s kms.Signer, st Statement) ([]byte, error) {
	msg, err := st.Marshal()
	if err != nil {
		return nil, fmt.Errorf("statement: sign: %w", err)
	}
	return signMessage(ctx, s, msg)
}

// SignFile signs st with s and returns the signature file carrying certPEM,
// the PEM certificate of s's key. A certificate for another key is refused
// (chain.ErrInvalidKey): the file could never verify.
func SignFile(ctx context.Context, s kms.Signer, st Statement, certPEM []byte) (File, error) {
	cert, err := chain.ParseCertificatePEM(certPEM)
	if err != nil {
		return File{}, fmt.Errorf("statement: sign file: %w", err)
	}
	if pub, ok := cert.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(s.Public()) {
		return File{}, fmt.Errorf("statement: sign file: %w: certificate %q is not for key %s", chain.ErrInvalidKey, cert.Subject, s.URI())
	}
	msg, err := st.Marshal()
	if err != nil {
		return File{}, fmt.Errorf("statement: sign file: %w", err)
	}
	sig, err := signMessage(ctx, s, msg)
	if err != nil {
		return File{}, err
	}
	return File{Statement: msg, Signature: sig, Certificate: certPEM}, nil
}

func signMessage(ctx context.Context, s kms.Signer, msg []byte) ([]byte, error) {
	sig, err := s.SignMessage(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("statement: sign with %s: %w", s.URI(), err)
	}
	// Check what no one has checked yet (a Verified signer did already).
	if !kms.SignaturesVerified(s) && (len(sig) != ed25519.SignatureSize || !ed25519.Verify(s.Public(), msg, sig)) {
		return nil, fmt.Errorf("statement: sign with %s: %w", s.URI(), kms.ErrBackendFault)
	}
	return sig, nil
}

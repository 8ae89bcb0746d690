package revocation

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"fmt"

	"github.com/appsign/signer/internal/kms"
)

// MaxSize bounds an envelope that Parse accepts: room for
// MaxValidSignatures (about 45 MB) and the other entries.
const MaxSize = 64 << 20

// envelope is the signed file: the list's canonical bytes, a pure Ed25519
// signature over exactly those bytes, and optionally the signer's
// certificate (DER). encoding/json writes and reads []byte as base64.
type envelope struct {
	List        []byte `json:"list"`
	Signature   []byte `json:"signature"`
	Certificate []byte `json:"certificate,omitempty"`
}

// Signed is a parsed envelope whose signature has NOT been checked. Use
// Verify or VerifyTrusted to trust anything in it.
type Signed struct {
	// List is the decoded list.
	List *List
	// Payload is the exact signed bytes (List.Marshal()).
	Payload []byte
	// Signature is the 64-byte Ed25519 signature over Payload.
	Signature []byte
	// Certificate is the signer's certificate, or nil if none was included.
	Certificate *x509.Certificate
}

// Sign marshals l and signs it with signer (pure Ed25519), returning the
// envelope:
//
//	{"list": "<base64 canonical list>", "signature": "<base64>", "certificate": "<base64 DER>"}
//
// cert, if not nil, is included and must be signer's certificate (a root,
// or a certificate from NewSignerCertificate with RevocationSigningPolicy)
// so that VerifyTrusted can check the list against a trust store. The
// signature is verified in software before it is returned. A key that
// cannot pure-sign a list this large (AWS KMS signs at most 4096 bytes)
// gives an error wrapping kms.ErrMessageTooLarge.
func Sign(ctx context.Context, l *List, signer kms.Signer, cert *x509.Certificate) ([]byte, error) {
	if signer == nil {
		return nil, fmt.Errorf("revocation: sign: %w: no signer", ErrInvalidList)
	}
	payload, err := l.Marshal()
	if err != nil {
		return nil, fmt.Errorf("revocation: sign: %w", err)
	}
	pub := signer.Public()
	var certDER []byte
	if cert != nil {
		cp, ok := cert.PublicKey.(ed25519.PublicKey)
		if !ok || !bytes.Equal(cp, pub) {
			return nil, fmt.Errorf("revocation: sign: %w: certificate %q is not the signer's", ErrInvalidList, cert.Subject)
		}
		certDER = cert.Raw
	}
	if !signer.Limits().CanSign(int64(len(payload))) {
		return nil, fmt.Errorf("revocation: sign: list of %d bytes with %s: %w; sign lists with a revocation-signing key that pure-signs messages of any size", len(payload), signer.URI(), kms.ErrMessageTooLarge)
	}
	sig, err := signer.SignMessage(ctx, payload)
	if err != nil {
		return nil, fmt.Errorf("revocation: sign: %w", err)
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, payload, sig) {
		return nil, fmt.Errorf("revocation: sign: %w: the key backend returned a signature that does not verify", ErrBadSignature)
	}
	out, err := json.MarshalIndent(envelope{List: payload, Signature: sig, Certificate: certDER}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("revocation: sign: %w", err)
	}
	return append(out, '\n'), nil
}

// Parse decodes an envelope and its list without checking the signature.
// Errors wrap ErrMalformed.
func Parse(b []byte) (*Signed, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("revocation: parse: %w: %d bytes, limit %d", ErrMalformed, len(b), MaxSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var env envelope
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("revocation: parse: %w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("revocation: parse: %w: data after the envelope", ErrMalformed)
	}
	if len(env.Signature) != ed25519.SignatureSize {
		return nil, fmt.Errorf("revocation: parse: %w: signature is %d bytes, want %d", ErrMalformed, len(env.Signature), ed25519.SignatureSize)
	}
	l, err := parseList(env.List)
	if err != nil {
		return nil, fmt.Errorf("revocation: parse: %w", err)
	}
	s := &Signed{List: l, Payload: env.List, Signature: env.Signature}
	if env.Certificate != nil {
		if s.Certificate, err = x509.ParseCertificate(env.Certificate); err != nil {
			return nil, fmt.Errorf("revocation: parse: %w: certificate: %v", ErrMalformed, err)
		}
	}
	return s, nil
}

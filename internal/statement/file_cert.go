package statement

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"fmt"

	"github.com/appsign/signer/internal/chain"
)

// FileEncoder marshals the signature files of one certificate, a
// certificate its caller has already parsed (the service's own signing
// key). Its PEM form and that form's base64 are computed once, when the
// encoder is made, instead of the PEM being parsed again for every file:
// that parse and those encodings were the largest costs of a digest
// signature's response after the Ed25519 operations (docs/BENCHMARKS.md).
// A FileEncoder is safe for concurrent use.
type FileEncoder struct {
	pem    []byte
	pemB64 string
}

// NewFileEncoder returns the encoder of cert's files.
func NewFileEncoder(cert *x509.Certificate) *FileEncoder {
	p := chain.CertificatePEM(cert)
	return &FileEncoder{pem: p, pemB64: base64.StdEncoding.EncodeToString(p)}
}

// Certificate returns the PEM certificate the files carry; callers must
// not modify it.
func (e *FileEncoder) Certificate() []byte { return e.pem }

// Marshal returns what File{Statement: st, Signature: sig, Certificate:
// e.Certificate()}.Marshal returns, checking st and sig as it does.
// Errors wrap chain.ErrMalformed.
func (e *FileEncoder) Marshal(st, sig []byte) ([]byte, error) {
	if _, err := Parse(st); err != nil {
		return nil, fmt.Errorf("statement: marshal file: %w", err)
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("statement: marshal file: %w: signature is %d bytes, want %d", chain.ErrMalformed, len(sig), ed25519.SignatureSize)
	}
	return encodeFile(st, sig, e.pemB64), nil
}

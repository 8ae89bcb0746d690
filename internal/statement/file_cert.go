package statement

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/appsign/signer/internal/chain"
)

// MarshalFor is Marshal for a file whose Certificate must be the PEM form
// of cert, a certificate the caller has already parsed (the service's own
// signing key): the statement and the signature are checked as Marshal
// checks them, and the certificate by comparing its bytes with the PEM
// encoding of cert.Raw instead of parsing it again. Parsing it was the
// largest cost of a digest signature's response (docs/BENCHMARKS.md).
// Errors wrap chain.ErrMalformed.
func (f File) MarshalFor(cert *x509.Certificate) ([]byte, error) {
	if _, err := Parse(f.Statement); err != nil {
		return nil, fmt.Errorf("statement: marshal file: %w", err)
	}
	if len(f.Signature) != ed25519.SignatureSize {
		return nil, fmt.Errorf("statement: marshal file: %w: signature is %d bytes, want %d", chain.ErrMalformed, len(f.Signature), ed25519.SignatureSize)
	}
	if cert == nil || !bytes.Equal(f.Certificate, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})) {
		return nil, fmt.Errorf("statement: marshal file: %w: the certificate is not the PEM form of the given certificate", chain.ErrMalformed)
	}
	return f.encode(), nil
}

package server

import (
	"crypto/x509"
	"sync"

	"github.com/appsign/signer/internal/statement"
)

// fileEncoders holds one statement.FileEncoder per signing certificate,
// keyed by its DER: every digest response carries the certificate as PEM
// and, base64-encoded, inside its signature file, and encoding both per
// response cost more than building the rest of the response. There is one
// entry per key version answered for, a handful.
type fileEncoders struct {
	m sync.Map // string(cert.Raw) → *statement.FileEncoder
}

// of returns the encoder of cert's digest-v1 signature files.
func (f *fileEncoders) of(cert *x509.Certificate) *statement.FileEncoder {
	if enc, ok := f.m.Load(string(cert.Raw)); ok {
		return enc.(*statement.FileEncoder)
	}
	enc, _ := f.m.LoadOrStore(string(cert.Raw), statement.NewFileEncoder(cert))
	return enc.(*statement.FileEncoder)
}

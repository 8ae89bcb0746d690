package chain

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

const (
	pemTypeCertificate = "CERTIFICATE"
	pemTypePrivateKey  = "PRIVATE KEY"
)

// CertificatePEM returns cert as one PEM "CERTIFICATE" block.
func CertificatePEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemTypeCertificate, Bytes: cert.Raw})
}

// ParseCertificatePEM parses exactly one PEM "CERTIFICATE" block, with
// nothing but whitespace around it. Errors wrap ErrMalformed.
func ParseCertificatePEM(b []byte) (*x509.Certificate, error) {
	der, err := singleCertificateBlock(b)
	if err != nil {
		return nil, fmt.Errorf("chain: parse certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("chain: parse certificate: %w: %v", ErrMalformed, err)
	}
	return cert, nil
}

// singleCertificateBlock returns the DER of the only PEM block in b. It
// rejects text before or after the block (pem.Decode would skip it), PEM
// headers, and any block type but CERTIFICATE.
func singleCertificateBlock(b []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(b)
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN ")) {
		return nil, fmt.Errorf("%w: not a PEM certificate", ErrMalformed)
	}
	block, rest := pem.Decode(trimmed)
	switch {
	case block == nil:
		return nil, fmt.Errorf("%w: not a PEM certificate", ErrMalformed)
	case block.Type != pemTypeCertificate:
		return nil, fmt.Errorf("%w: PEM block is %q, want %q", ErrMalformed, block.Type, pemTypeCertificate)
	case len(block.Headers) != 0:
		return nil, fmt.Errorf("%w: PEM certificate has headers", ErrMalformed)
	case len(bytes.TrimSpace(rest)) != 0:
		return nil, fmt.Errorf("%w: data after the PEM certificate", ErrMalformed)
	}
	return block.Bytes, nil
}

// parseCertificatesPEM parses one or more PEM "CERTIFICATE" blocks, as found
// in trust-store files; any other content is an error.
func parseCertificatesPEM(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := bytes.TrimSpace(b)
	for len(rest) > 0 {
		if !bytes.HasPrefix(rest, []byte("-----BEGIN ")) {
			return nil, fmt.Errorf("%w: unexpected data, want PEM certificates", ErrMalformed)
		}
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("%w: invalid PEM block", ErrMalformed)
		}
		if block.Type != pemTypeCertificate {
			return nil, fmt.Errorf("%w: PEM block is %q, want %q", ErrMalformed, block.Type, pemTypeCertificate)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %v", ErrMalformed, len(certs)+1, err)
		}
		certs = append(certs, cert)
		rest = bytes.TrimSpace(rest)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: no PEM certificate", ErrMalformed)
	}
	return certs, nil
}

// marshalKeyPEM encodes key as a PKCS#8 "PRIVATE KEY" PEM block.
func marshalKeyPEM(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: encode PKCS#8", ErrInvalidKey)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemTypePrivateKey, Bytes: der}), nil
}

// parseKeyPEM decodes a PKCS#8 "PRIVATE KEY" PEM block holding an Ed25519
// key. Errors never quote the input: it is secret.
func parseKeyPEM(b []byte) (ed25519.PrivateKey, error) {
	block, rest := pem.Decode(bytes.TrimSpace(b))
	if block == nil || block.Type != pemTypePrivateKey || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: want one PEM %q block", ErrInvalidKey, pemTypePrivateKey)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: not a PKCS#8 private key", ErrInvalidKey)
	}
	edKey, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: private key is %T, want Ed25519", ErrInvalidKey, key)
	}
	return edKey, nil
}

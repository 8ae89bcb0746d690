package chain

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// This file is the service's one PEM API: certificates, certificate chains
// and PKCS#8 private keys, encoded and strictly parsed. Other packages
// (bundle, softkms, signerctl) call it rather than encoding/pem.

const (
	pemTypeCertificate = "CERTIFICATE"
	pemTypePrivateKey  = "PRIVATE KEY"
	pemBegin           = "-----BEGIN "
)

// CertificatePEM returns cert as one PEM "CERTIFICATE" block.
func CertificatePEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemTypeCertificate, Bytes: cert.Raw})
}

// CertificatesPEM returns certs as consecutive PEM "CERTIFICATE" blocks, in
// order: a chain (leaf first) or a trust-store file.
func CertificatesPEM(certs ...*x509.Certificate) []byte {
	var b []byte
	for _, c := range certs {
		b = append(b, CertificatePEM(c)...)
	}
	return b
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

// ParseCertificatesPEM parses one or more PEM "CERTIFICATE" blocks, as
// found in trust-store files and certificate chains, with nothing but
// whitespace around and between them. Errors wrap ErrMalformed and say
// which block failed.
func ParseCertificatesPEM(b []byte) ([]*x509.Certificate, error) {
	certs, err := parseCertificatesPEM(b)
	if err != nil {
		return nil, fmt.Errorf("chain: parse certificates: %w", err)
	}
	return certs, nil
}

// singleCertificateBlock returns the DER of the only PEM block in b.
func singleCertificateBlock(b []byte) ([]byte, error) {
	blocks, err := decodeBlocks(b, pemTypeCertificate, "certificate", ErrMalformed)
	if err != nil {
		return nil, err
	}
	if len(blocks) > 1 {
		return nil, fmt.Errorf("%w: data after the PEM certificate (%d PEM blocks, want one)", ErrMalformed, len(blocks))
	}
	return blocks[0], nil
}

func parseCertificatesPEM(b []byte) ([]*x509.Certificate, error) {
	blocks, err := decodeBlocks(b, pemTypeCertificate, "certificate", ErrMalformed)
	if err != nil {
		return nil, err
	}
	certs := make([]*x509.Certificate, 0, len(blocks))
	for i, der := range blocks {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %v", ErrMalformed, i+1, err)
		}
		certs = append(certs, cert)
	}
	return certs, nil
}

// decodeBlocks returns the contents of the PEM blocks that make up b, at
// least one. Unlike pem.Decode, which skips any text before a block (and a
// block it cannot decode), it refuses anything but whitespace around and
// between the blocks, any block type but want, and PEM headers: a file that
// carries something else is not what it claims to be. Errors wrap bad and
// never quote b.
func decodeBlocks(b []byte, want, what string, bad error) (blocks [][]byte, err error) {
	var out [][]byte
	defer func() {
		if err != nil {
			for _, der := range out {
				clear(der) // it may be key material
			}
		}
	}()
	rest := bytes.TrimSpace(b)
	for len(rest) > 0 {
		if !bytes.HasPrefix(rest, []byte(pemBegin)) {
			if len(out) == 0 {
				return nil, fmt.Errorf("%w: not a PEM %s", bad, what)
			}
			return nil, fmt.Errorf("%w: data after PEM block %d, want only PEM %q blocks", bad, len(out), want)
		}
		block, after := pem.Decode(rest)
		// pem.Decode returns the next good block past a broken one; the
		// block must be the one that starts here.
		if block == nil || bytes.Count(rest[:len(rest)-len(after)], []byte(pemBegin)) != 1 {
			return nil, fmt.Errorf("%w: PEM block %d is not valid PEM", bad, len(out)+1)
		}
		switch {
		case block.Type != want:
			return nil, fmt.Errorf("%w: PEM block is %q, want %q", bad, block.Type, want)
		case len(block.Headers) != 0:
			return nil, fmt.Errorf("%w: PEM %s has headers", bad, what)
		}
		out = append(out, block.Bytes)
		rest = bytes.TrimSpace(after)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no PEM %s", bad, what)
	}
	return out, nil
}

// MarshalPrivateKeyPEM encodes key as one PKCS#8 "PRIVATE KEY" PEM block,
// the form OpenSSL writes (openssl genpkey -algorithm ed25519). The caller
// should clear the result once written.
func MarshalPrivateKeyPEM(key ed25519.PrivateKey) ([]byte, error) {
	b, err := marshalKeyPEM(key)
	if err != nil {
		return nil, fmt.Errorf("chain: encode private key: %w", err)
	}
	return b, nil
}

// ParsePrivateKeyPEM parses exactly one PKCS#8 "PRIVATE KEY" PEM block
// holding an Ed25519 key, with nothing but whitespace around it. Errors
// wrap ErrInvalidKey and never quote the input: it is secret.
func ParsePrivateKeyPEM(b []byte) (ed25519.PrivateKey, error) {
	key, err := parseKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("chain: parse private key: %w", err)
	}
	return key, nil
}

func marshalKeyPEM(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: encode PKCS#8", ErrInvalidKey)
	}
	defer clear(der)
	return pem.EncodeToMemory(&pem.Block{Type: pemTypePrivateKey, Bytes: der}), nil
}

func parseKeyPEM(b []byte) (ed25519.PrivateKey, error) {
	blocks, err := decodeBlocks(b, pemTypePrivateKey, "private key", ErrInvalidKey)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, der := range blocks {
			clear(der)
		}
	}()
	if len(blocks) > 1 {
		return nil, fmt.Errorf("%w: data after the PEM private key (%d PEM blocks, want one)", ErrInvalidKey, len(blocks))
	}
	return ParsePrivateKeyDER(blocks[0])
}

// ParsePrivateKeyDER parses a DER PKCS#8 private key that must be Ed25519.
// The result does not share memory with der, which the caller may clear.
// Errors wrap ErrInvalidKey and never quote der.
func ParsePrivateKeyDER(der []byte) (ed25519.PrivateKey, error) {
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: not a PKCS#8 private key", ErrInvalidKey)
	}
	edKey, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: private key is %T, want Ed25519", ErrInvalidKey, key)
	}
	return edKey, nil
}

package chain

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxSignatureFileSize bounds a signature file; a signature with a
// certificate chain's leaf needs about 1 KiB.
const MaxSignatureFileSize = 64 << 10

const (
	fieldSignature   = "signature"
	fieldCertificate = "certificate"
)

// SignatureFile is the ecosystem's signature file:
// {"signature": "<base64>", "certificate": "<base64 of a PEM certificate>"}.
type SignatureFile struct {
	// Signature is the 64-byte pure Ed25519 signature over the archive.
	Signature []byte
	// Certificate is the PEM signing certificate. It is nil for custom
	// apps whose certificate is in the verifier's trust store.
	Certificate []byte
}

// Marshal encodes f exactly as
// {"signature":"<std base64>","certificate":"<std base64 of PEM>"},
// without the certificate member when Certificate is nil. It refuses a
// signature that is not 64 bytes or a certificate that is not one PEM
// certificate block, so it never writes a file the verifier would reject.
func (f SignatureFile) Marshal() ([]byte, error) {
	if len(f.Signature) != ed25519.SignatureSize {
		return nil, fmt.Errorf("chain: marshal signature file: %w: signature is %d bytes, want %d", ErrMalformed, len(f.Signature), ed25519.SignatureSize)
	}
	var b bytes.Buffer
	b.WriteString(`{"` + fieldSignature + `":"`)
	b.WriteString(base64.StdEncoding.EncodeToString(f.Signature))
	b.WriteString(`"`)
	if f.Certificate != nil {
		if _, err := singleCertificateBlock(f.Certificate); err != nil {
			return nil, fmt.Errorf("chain: marshal signature file: certificate: %w", err)
		}
		b.WriteString(`,"` + fieldCertificate + `":"`)
		b.WriteString(base64.StdEncoding.EncodeToString(f.Certificate))
		b.WriteString(`"`)
	}
	b.WriteString(`}`)
	return b.Bytes(), nil
}

// ParseSignatureFile strictly decodes a signature file: at most
// MaxSignatureFileSize bytes, one JSON object whose members are exactly
// "signature" and optionally "certificate" (case-sensitive, no duplicates,
// string values), canonical standard base64, a 64-byte signature and a
// certificate that is one PEM CERTIFICATE block holding a parseable
// certificate. Every error wraps ErrMalformed.
func ParseSignatureFile(b []byte) (SignatureFile, error) {
	sf, err := parseSignatureFile(b)
	if err != nil {
		return SignatureFile{}, fmt.Errorf("chain: parse signature file: %w", err)
	}
	return sf, nil
}

func parseSignatureFile(b []byte) (SignatureFile, error) {
	if len(b) > MaxSignatureFileSize {
		return SignatureFile{}, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, len(b), MaxSignatureFileSize)
	}
	members, err := stringMembers(b)
	if err != nil {
		return SignatureFile{}, err
	}
	var sf SignatureFile
	for name, value := range members {
		switch name {
		case fieldSignature:
			sf.Signature, err = decodeBase64(name, value)
		case fieldCertificate:
			sf.Certificate, err = decodeBase64(name, value)
		default:
			err = fmt.Errorf("%w: unknown field %q", ErrMalformed, name)
		}
		if err != nil {
			return SignatureFile{}, err
		}
	}
	if _, ok := members[fieldSignature]; !ok {
		return SignatureFile{}, fmt.Errorf("%w: missing field %q", ErrMalformed, fieldSignature)
	}
	if len(sf.Signature) != ed25519.SignatureSize {
		return SignatureFile{}, fmt.Errorf("%w: signature is %d bytes, want %d", ErrMalformed, len(sf.Signature), ed25519.SignatureSize)
	}
	if _, ok := members[fieldCertificate]; ok {
		der, err := singleCertificateBlock(sf.Certificate)
		if err != nil {
			return SignatureFile{}, fmt.Errorf("certificate: %w", err)
		}
		if _, err := x509.ParseCertificate(der); err != nil {
			return SignatureFile{}, fmt.Errorf("certificate: %w: %v", ErrMalformed, err)
		}
	}
	return sf, nil
}

// stringMembers decodes one JSON object whose members all have string
// values. Unlike encoding/json into a struct it rejects duplicate names,
// matches names case-sensitively and rejects trailing data.
func stringMembers(b []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	members := make(map[string]string)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: invalid JSON: %v", ErrMalformed, err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: invalid JSON object", ErrMalformed)
		}
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("%w: duplicate field %q", ErrMalformed, name)
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: invalid JSON: %v", ErrMalformed, err)
		}
		value, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: field %q is not a string", ErrMalformed, name)
		}
		members[name] = value
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, fmt.Errorf("%w: invalid JSON object", ErrMalformed)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrMalformed)
	}
	return members, nil
}

// decodeBase64 accepts only canonical standard base64 with padding:
// no line breaks, no URL alphabet, no non-zero padding bits.
func decodeBase64(field, s string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || base64.StdEncoding.EncodeToString(b) != s {
		return nil, fmt.Errorf("%w: field %q is not canonical standard base64", ErrMalformed, field)
	}
	return b, nil
}

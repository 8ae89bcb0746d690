package statement

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"slices"

	"github.com/appsign/signer/internal/chain"
)

// Signature profiles told apart by DetectProfile.
const (
	// ProfileUPM is the ecosystem's signature file (package chain): pure
	// Ed25519 over every byte of the archive. The default.
	ProfileUPM = "upm"
	// ProfileDigestV1 is this package's File: pure Ed25519 over a v1
	// statement that names the archive's size and digests.
	ProfileDigestV1 = "digest-v1"
)

// MaxFileSize bounds a digest-v1 signature file, like
// chain.MaxSignatureFileSize bounds a UPM one.
const MaxFileSize = 64 << 10

const (
	fieldProfile     = "profile"
	fieldStatement   = "statement"
	fieldSignature   = "signature"
	fieldCertificate = "certificate"
)

var fileFields = []string{fieldProfile, fieldStatement, fieldSignature, fieldCertificate}

// File is the digest-v1 signature file:
//
//	{"profile":"digest-v1","statement":"<b64>","signature":"<b64>","certificate":"<b64 of PEM>"}
//
// The ecosystem's installed verifier does not accept it; see the package
// documentation.
type File struct {
	// Statement is the exact encoded statement that was signed.
	Statement []byte
	// Signature is the 64-byte pure Ed25519 signature over Statement.
	Signature []byte
	// Certificate is the PEM signing certificate (one CERTIFICATE block).
	// It is required: this profile has no trust-store-only variant.
	Certificate []byte
}

// Marshal encodes f in its one form: the four members in the order above,
// no whitespace, canonical standard base64 with padding. It refuses a
// statement that Parse rejects, a signature that is not 64 bytes and a
// certificate that is not one PEM certificate. Errors wrap chain.ErrMalformed.
func (f File) Marshal() ([]byte, error) {
	if err := f.check(); err != nil {
		return nil, fmt.Errorf("statement: marshal file: %w", err)
	}
	return f.encode(), nil
}

func (f File) check() error {
	if _, err := Parse(f.Statement); err != nil {
		return err
	}
	if len(f.Signature) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature is %d bytes, want %d", chain.ErrMalformed, len(f.Signature), ed25519.SignatureSize)
	}
	if _, err := chain.ParseCertificatePEM(f.Certificate); err != nil {
		return err
	}
	return nil
}

func (f File) encode() []byte {
	return encodeFile(f.Statement, f.Signature, base64.StdEncoding.EncodeToString(f.Certificate))
}

// encodeFile writes the four members in one allocation of the final size:
// the file is most of a digest response, built once per signature.
func encodeFile(st, sig []byte, certB64 string) []byte {
	enc := base64.StdEncoding
	size := len(`{"profile":"","statement":"","signature":"","certificate":""}`) +
		len(ProfileDigestV1) + enc.EncodedLen(len(st)) + enc.EncodedLen(len(sig)) + len(certB64)
	b := make([]byte, 0, size)
	b = append(b, `{"`+fieldProfile+`":"`+ProfileDigestV1+`","`+fieldStatement+`":"`...)
	b = enc.AppendEncode(b, st)
	b = append(b, `","`+fieldSignature+`":"`...)
	b = enc.AppendEncode(b, sig)
	b = append(b, `","`+fieldCertificate+`":"`...)
	b = append(b, certB64...)
	return append(b, `"}`...)
}

// ParseFile strictly decodes a digest-v1 signature file and accepts only
// the bytes Marshal produces: at most MaxFileSize bytes, exactly the four
// members in order with string values, profile "digest-v1", canonical
// base64, a statement Parse accepts, a 64-byte signature and one PEM
// certificate. Every error wraps chain.ErrMalformed.
func ParseFile(b []byte) (File, error) {
	f, err := parseFile(b)
	if err != nil {
		return File{}, fmt.Errorf("statement: parse file: %w", err)
	}
	return f, nil
}

func parseFile(b []byte) (File, error) {
	if len(b) > MaxFileSize {
		return File{}, fmt.Errorf("%w: %d bytes, limit %d", chain.ErrMalformed, len(b), MaxFileSize)
	}
	members, err := stringMembers(b)
	if err != nil {
		return File{}, fmt.Errorf("%w: %w", chain.ErrMalformed, err)
	}
	// The JSON reader refuses repeated names, so a known name at the wrong
	// index is out of order, and a fifth member is an unknown one.
	for i, m := range members {
		switch slices.Index(fileFields, m.name) {
		case -1:
			return File{}, fmt.Errorf("%w: unknown field %.40q", chain.ErrMalformed, m.name)
		case i:
		default:
			return File{}, fmt.Errorf("%w: field %q out of order, want %q", chain.ErrMalformed, m.name, fileFields[i])
		}
	}
	if len(members) < len(fileFields) {
		return File{}, fmt.Errorf("%w: missing field %q", chain.ErrMalformed, fileFields[len(members)])
	}
	if members[0].value != ProfileDigestV1 {
		return File{}, fmt.Errorf("%w: profile %.40q, want %q", chain.ErrMalformed, members[0].value, ProfileDigestV1)
	}
	var f File
	for _, dst := range []struct {
		m   member
		out *[]byte
	}{{members[1], &f.Statement}, {members[2], &f.Signature}, {members[3], &f.Certificate}} {
		if *dst.out, err = decodeBase64(dst.m.name, dst.m.value); err != nil {
			return File{}, fmt.Errorf("%w: %w", chain.ErrMalformed, err)
		}
	}
	if err := f.check(); err != nil {
		return File{}, err
	}
	if !bytes.Equal(f.encode(), b) {
		return File{}, fmt.Errorf("%w: not in canonical form (whitespace or escaped characters)", chain.ErrMalformed)
	}
	return f, nil
}

// DetectProfile reports which profile a signature file is, so a verifier
// can dispatch: ProfileDigestV1 for an object whose "profile" member is
// "digest-v1", ProfileUPM for an object without a "profile" member. It
// only looks at the profile: the caller still parses the file with
// ParseFile or chain.ParseSignatureFile. Anything that is not a JSON object
// of string members, or names another profile, is an error wrapping
// chain.ErrMalformed.
func DetectProfile(b []byte) (string, error) {
	if len(b) > max(MaxFileSize, chain.MaxSignatureFileSize) {
		return "", fmt.Errorf("statement: detect profile: %w: %d bytes", chain.ErrMalformed, len(b))
	}
	members, err := stringMembers(b)
	if err != nil {
		return "", fmt.Errorf("statement: detect profile: %w: %w", chain.ErrMalformed, err)
	}
	for _, m := range members {
		if m.name != fieldProfile {
			continue
		}
		if m.value != ProfileDigestV1 {
			return "", fmt.Errorf("statement: detect profile: %w: unknown profile %.40q", chain.ErrMalformed, m.value)
		}
		return ProfileDigestV1, nil
	}
	return ProfileUPM, nil
}

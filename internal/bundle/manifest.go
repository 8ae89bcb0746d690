package bundle

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/revocation"
)

// Manifest describes a bundle. Its exact bytes (manifest.json) are what
// manifest.sig signs.
type Manifest struct {
	// Format is Format.
	Format string `json:"format"`
	// BundleVersion is Bundle.Version.
	BundleVersion uint64 `json:"bundle_version"`
	// IssuedAt is when the bundle was exported (UTC, seconds).
	IssuedAt time.Time `json:"issued_at"`
	// ValidUntil is the earliest NotAfter of the bundle's certificates
	// (CAs and manifest signer): the bundle cannot be installed after it.
	ValidUntil time.Time `json:"valid_until"`
	// Files lists every file of the bundle but manifest.json,
	// manifest.sig and the sums files.
	Files []File `json:"files"`
}

// File describes one file of a bundle. For certificates Subject is the
// subject DN and the times are the validity period; for the revocation
// list and CRLs Subject is the issuer, Version the list version or CRL
// number, and the times are issued-at (this update) and next update.
type File struct {
	Name              string    `json:"name"`
	Role              string    `json:"role"`
	Subject           string    `json:"subject,omitempty"`
	NotBefore         time.Time `json:"not_before,omitzero"`
	NotAfter          time.Time `json:"not_after,omitzero"`
	FingerprintSHA256 string    `json:"fingerprint_sha256,omitempty"`
	Version           string    `json:"version,omitempty"`
	SHA256            string    `json:"sha256"`
	SHA512            string    `json:"sha512"`
}

// encodeManifest returns the manifest's one encoding: indented JSON with a
// final newline, readable on an air-gapped console.
func encodeManifest(m *Manifest) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// parseManifest decodes b strictly: unknown fields, trailing data and any
// encoding but encodeManifest's are refused, so every reader of the signed
// bytes sees the same manifest (no duplicate keys, no second object).
func parseManifest(b []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrMalformed, m.Format, Format)
	}
	again, err := encodeManifest(&m)
	if err != nil || !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: not in canonical form (as Export writes it)", ErrMalformed)
	}
	if m.BundleVersion == 0 {
		return nil, fmt.Errorf("%w: bundle version 0", ErrMalformed)
	}
	seen := make(map[string]bool)
	counts := make(map[string]int)
	for _, f := range m.Files {
		if err := checkFileName(f.Name); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("%w: %s listed twice", ErrMalformed, f.Name)
		}
		seen[f.Name] = true
		counts[f.Role]++
	}
	switch {
	case counts[RoleRoot] == 0:
		return nil, fmt.Errorf("%w: no root certificate", ErrMalformed)
	case counts[RoleSigner] != 1:
		return nil, fmt.Errorf("%w: want exactly one %s file", ErrMalformed, RoleSigner)
	case counts[RoleRevocationList] > 1:
		return nil, fmt.Errorf("%w: more than one revocation list", ErrMalformed)
	}
	return &m, nil
}

// checkFileName accepts the plain names a bundle may contain.
func checkFileName(name string) error {
	switch {
	case name == "" || strings.ContainsAny(name, "/\\\x00\n\r \t") || strings.HasPrefix(name, "."):
		return fmt.Errorf("invalid file name %q", name)
	case name == ManifestFile || name == SignatureFile || name == SHA256SumsFile || name == SHA512SumsFile:
		return fmt.Errorf("file name %q is reserved", name)
	}
	return nil
}

// describe parses content as a file of role and returns its manifest
// entry; Export and Verify share it, so what is published is exactly what
// is checked.
func describe(role string, content []byte) (File, error) {
	f := File{Role: role}
	f.SHA256, f.SHA512 = fileDigests(content)
	switch role {
	case RoleRoot, RoleIntermediate, RoleSigner:
		c, err := chain.ParseCertificatePEM(content)
		if err != nil {
			return File{}, err
		}
		f.FingerprintSHA256 = Fingerprint(c)
		f.Name = role + "-" + f.FingerprintSHA256[:16] + ".pem"
		if role == RoleSigner {
			f.Name = SignerFile
		}
		f.Subject = c.Subject.String()
		f.NotBefore, f.NotAfter = c.NotBefore.UTC(), c.NotAfter.UTC()
	case RoleRevocationList:
		s, err := revocation.Parse(content)
		if err != nil {
			return File{}, err
		}
		f.Name = RevocationListFile
		f.Subject = s.List.Issuer
		f.Version = strconv.FormatUint(s.List.Version, 10)
		f.NotBefore, f.NotAfter = s.List.IssuedAt, s.List.NextUpdate
	case RoleCRL:
		crl, err := x509.ParseRevocationList(content)
		if err != nil {
			return File{}, fmt.Errorf("%w: CRL: %v", ErrMalformed, err)
		}
		f.Name = "crl-" + f.SHA256[:16] + ".crl"
		f.Subject = crl.Issuer.String()
		if crl.Number != nil {
			f.Version = crl.Number.String()
		}
		f.NotBefore, f.NotAfter = crl.ThisUpdate.UTC(), crl.NextUpdate.UTC()
	default:
		return File{}, fmt.Errorf("%w: unknown role %q", ErrMalformed, role)
	}
	return f, nil
}

// fileDigests returns the lowercase hex SHA-256 and SHA-512 of data.
func fileDigests(data []byte) (string, string) {
	s256 := sha256.Sum256(data)
	s512 := sha512.Sum512(data)
	return hex.EncodeToString(s256[:]), hex.EncodeToString(s512[:])
}

// sameFile compares manifest entries, times by instant.
func sameFile(a, b File) bool {
	return a.Name == b.Name && a.Role == b.Role && a.Subject == b.Subject &&
		a.NotBefore.Equal(b.NotBefore) && a.NotAfter.Equal(b.NotAfter) &&
		a.FingerprintSHA256 == b.FingerprintSHA256 && a.Version == b.Version &&
		a.SHA256 == b.SHA256 && a.SHA512 == b.SHA512
}

func isCertRole(role string) bool {
	return role == RoleRoot || role == RoleIntermediate || role == RoleSigner
}

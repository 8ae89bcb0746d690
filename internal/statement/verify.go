package statement

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/ctxio"
)

// Result describes a digest-v1 signature file that verified.
type Result struct {
	// Result holds the signing certificate's facts and the archive's
	// SHA-256, as for the UPM profile, so callers print both alike.
	// FromTrustStore is always false.
	chain.Result
	// Statement is the verified statement.
	Statement Statement
}

// Verify checks f against the archive read from archive, as of time now:
//
//  1. the statement is parsed strictly (chain.ErrMalformed);
//  2. the certificate must be an Ed25519 code-signing certificate chaining
//     to a root of ts, valid at now (chain.ErrUntrusted, chain.ErrExpired),
//     as chain.TrustStore.Verify requires;
//  3. the signature must be a pure Ed25519 signature of the exact
//     statement bytes under the certificate's key (chain.ErrBadSignature);
//  4. the archive is streamed once and its size, SHA-256 and SHA-512 must
//     all equal the statement's (ErrDigestMismatch). At most the stated
//     size plus one byte is read.
//
// Nothing of the archive is read unless steps 1-3 pass. I/O and ctx errors
// are returned wrapped as they are.
func Verify(ctx context.Context, ts *chain.TrustStore, f File, archive io.Reader, now time.Time) (*Result, error) {
	if archive == nil {
		return nil, errors.New("statement: verify: no archive")
	}
	st, err := Parse(f.Statement)
	if err != nil {
		return nil, fmt.Errorf("statement: verify: %w", err)
	}
	if len(f.Signature) != ed25519.SignatureSize {
		return nil, fmt.Errorf("statement: verify: %w: signature is %d bytes, want %d", chain.ErrMalformed, len(f.Signature), ed25519.SignatureSize)
	}
	cert, err := chain.ParseCertificatePEM(f.Certificate)
	if err != nil {
		return nil, fmt.Errorf("statement: verify: %w", err)
	}
	path, err := ts.VerifySigningCertificate(cert, now)
	if err != nil {
		return nil, fmt.Errorf("statement: verify: %w", err)
	}
	pub := cert.PublicKey.(ed25519.PublicKey) // VerifySigningCertificate requires Ed25519
	if !ed25519.Verify(pub, f.Statement, f.Signature) {
		return nil, fmt.Errorf("statement: verify: %w: signature does not match the statement and certificate %q", chain.ErrBadSignature, cert.Subject)
	}
	d, err := digestArchive(ctx, archive, st.ArchiveSize)
	if err != nil {
		return nil, fmt.Errorf("statement: verify: %w", err)
	}
	if err := d.match(st); err != nil {
		return nil, fmt.Errorf("statement: verify: %w", err)
	}
	fp, err := chain.KeyFingerprint(pub)
	if err != nil {
		return nil, fmt.Errorf("statement: verify: %w", err)
	}
	var issuers []string
	for _, c := range path[1:] {
		issuers = append(issuers, c.Subject.String())
	}
	return &Result{
		Result: chain.Result{
			Subject:        cert.Subject.String(),
			Issuers:        issuers,
			Serial:         hex.EncodeToString(cert.SerialNumber.Bytes()),
			NotAfter:       cert.NotAfter,
			SHA256:         hex.EncodeToString(d.sha256),
			KeyFingerprint: fp,
			Certificate:    cert,
		},
		Statement: st,
	}, nil
}

// digests are what was read of an archive.
type digests struct {
	size           int64 // bytes read, at most the stated size plus one
	sha256, sha512 []byte
}

// digestArchive reads archive once, at most want+1 bytes, checking ctx
// between chunks: reading further could not make a longer archive match.
func digestArchive(ctx context.Context, archive io.Reader, want int64) (digests, error) {
	limit := want
	if limit < math.MaxInt64 {
		limit++
	}
	h256, h512 := sha256.New(), sha512.New()
	n, err := ctxio.Copy(ctx, io.MultiWriter(h256, h512), io.LimitReader(archive, limit))
	if err != nil {
		return digests{}, fmt.Errorf("read archive: %w", err)
	}
	return digests{size: n, sha256: h256.Sum(nil), sha512: h512.Sum(nil)}, nil
}

// match requires size, SHA-256 and SHA-512 to all equal the statement's,
// and names every one that differs.
func (d digests) match(st Statement) error {
	if d.size > st.ArchiveSize {
		return fmt.Errorf("%w: archive is longer than the stated %d bytes", ErrDigestMismatch, st.ArchiveSize)
	}
	var diffs []string
	if d.size != st.ArchiveSize {
		diffs = append(diffs, fmt.Sprintf("size is %d bytes, statement says %d", d.size, st.ArchiveSize))
	}
	if !bytes.Equal(d.sha256, st.SHA256) {
		diffs = append(diffs, "SHA-256 differs")
	}
	if !bytes.Equal(d.sha512, st.SHA512) {
		diffs = append(diffs, "SHA-512 differs")
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%w: %s", ErrDigestMismatch, strings.Join(diffs, ", "))
	}
	return nil
}

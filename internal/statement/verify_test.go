package statement

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"io"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
)

func TestVerify(t *testing.T) {
	c := newTestChain(t, testNow)
	foreign := newTestChain(t, testNow)
	store := c.store()
	archive := make([]byte, 300<<10)
	if _, err := rand.Read(archive); err != nil {
		t.Fatal(err)
	}
	st := statementFor(archive)
	good := signedFile(t, c.leafKey, st, c.leaf)

	// Statements that are validly signed but describe another archive in
	// exactly one respect.
	wrongSize, wrongSHA256, wrongSHA512 := st, st, st
	wrongSize.ArchiveSize++
	wrongSHA256.SHA256 = flipByte(st.SHA256, 0)
	wrongSHA512.SHA512 = flipByte(st.SHA512, 63)
	// The same archive signed as another version: signature over other bytes.
	otherVersion := st
	otherVersion.Version = "1.4.3"
	tampered := good
	tampered.Statement = signedFile(t, c.leafKey, otherVersion, c.leaf).Statement
	nonCanonicalSig := good
	nonCanonicalSig.Signature = bytes.Clone(good.Signature)
	nonCanonicalSig.Signature[63] |= 0xe0
	crlfStatement := good
	crlfStatement.Statement = bytes.ReplaceAll(good.Statement, []byte("\n"), []byte("\r\n"))
	// The same key's UPM signature, over the archive instead of the statement.
	upmSignature := good
	upmSignature.Signature = ed25519.Sign(c.leafKey, archive)
	serverAuth := craftCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "server auth"},
		NotBefore:    testNow.Add(-time.Minute),
		NotAfter:     testNow.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, c.inter, c.interKey, pubOf(c.leafKey))

	tests := []struct {
		name    string
		store   *chain.TrustStore
		f       File
		archive []byte
		now     time.Time
		wantErr error // nil: valid
	}{
		{"valid", store, good, archive, testNow, nil},
		{"valid at NotAfter", store, good, archive, c.leaf.NotAfter, nil},

		{"archive one byte longer", store, good, append(bytes.Clone(archive), 0), testNow, ErrDigestMismatch},
		{"archive one byte shorter", store, good, archive[:len(archive)-1], testNow, ErrDigestMismatch},
		{"archive with one bit changed", store, good, flipByte(archive, len(archive)/2), testNow, ErrDigestMismatch},
		{"empty archive", store, good, nil, testNow, ErrDigestMismatch},
		{"statement with wrong size only", store, signedFile(t, c.leafKey, wrongSize, c.leaf), archive, testNow, ErrDigestMismatch},
		{"statement with wrong SHA-256 only", store, signedFile(t, c.leafKey, wrongSHA256, c.leaf), archive, testNow, ErrDigestMismatch},
		{"statement with wrong SHA-512 only", store, signedFile(t, c.leafKey, wrongSHA512, c.leaf), archive, testNow, ErrDigestMismatch},

		{"tampered statement", store, tampered, archive, testNow, chain.ErrBadSignature},
		{"signed by another key", store, signedFile(t, foreign.leafKey, st, c.leaf), archive, testNow, chain.ErrBadSignature},
		{"non-canonical signature", store, nonCanonicalSig, archive, testNow, chain.ErrBadSignature},
		{"UPM signature over the archive", store, upmSignature, archive, testNow, chain.ErrBadSignature},

		{"malformed statement", store, crlfStatement, archive, testNow, chain.ErrMalformed},
		{"63-byte signature", store, File{Statement: good.Statement, Signature: good.Signature[:63], Certificate: good.Certificate}, archive, testNow, chain.ErrMalformed},
		{"no certificate", store, File{Statement: good.Statement, Signature: good.Signature}, archive, testNow, chain.ErrMalformed},
		{"DER certificate", store, File{Statement: good.Statement, Signature: good.Signature, Certificate: c.leaf.Raw}, archive, testNow, chain.ErrMalformed},

		{"certificate from unknown root", store, signedFile(t, foreign.leafKey, st, foreign.leaf), archive, testNow, chain.ErrUntrusted},
		{"trust store without intermediate", chain.NewTrustStore(c.root), good, archive, testNow, chain.ErrUntrusted},
		{"empty trust store", chain.NewTrustStore(), good, archive, testNow, chain.ErrUntrusted},
		{"nil trust store", nil, good, archive, testNow, chain.ErrUntrusted},
		{"CA certificate as signer", store, signedFile(t, c.interKey, st, c.inter), archive, testNow, chain.ErrUntrusted},
		{"server-auth certificate", store, signedFile(t, c.leafKey, st, serverAuth), archive, testNow, chain.ErrUntrusted},
		{"expired certificate", store, good, archive, c.leaf.NotAfter.Add(time.Second), chain.ErrExpired},
		{"certificate not yet valid", store, good, archive, c.leaf.NotBefore.Add(-time.Second), chain.ErrExpired},
	}
	sentinels := []error{chain.ErrMalformed, chain.ErrBadSignature, chain.ErrUntrusted, chain.ErrExpired, ErrDigestMismatch}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(tt.archive)
			if tt.wantErr != nil && tt.wantErr != ErrDigestMismatch {
				r = readGuard{t}
			}
			res, err := Verify(t.Context(), tt.store, tt.f, r, tt.now)
			if tt.wantErr != nil {
				if res != nil || err == nil {
					t.Fatalf("Verify = %+v, %v; want %v", res, err, tt.wantErr)
				}
				t.Logf("error: %v", err)
				for _, s := range sentinels {
					if got, want := errors.Is(err, s), s == tt.wantErr; got != want {
						t.Errorf("errors.Is(%q, %v) = %v, want %v", err, s, got, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			checkResult(t, res, c, st, archive)
		})
	}
}

func checkResult(t *testing.T, res *Result, c testChain, st Statement, archive []byte) {
	t.Helper()
	sum := sha256.Sum256(archive)
	spki := sha256.Sum256(c.leaf.RawSubjectPublicKeyInfo)
	checks := []struct {
		field     string
		got, want any
	}{
		{"Subject", res.Subject, c.leaf.Subject.String()},
		{"Issuers", slices.Equal(res.Issuers, []string{c.inter.Subject.String(), c.root.Subject.String()}), true},
		{"Serial", res.Serial, hex.EncodeToString(c.leaf.SerialNumber.Bytes())},
		{"NotAfter", res.NotAfter, c.leaf.NotAfter},
		{"SHA256", res.SHA256, hex.EncodeToString(sum[:])},
		{"KeyFingerprint", res.KeyFingerprint, hex.EncodeToString(spki[:])},
		{"FromTrustStore", res.FromTrustStore, false},
		{"Certificate", res.Certificate.Equal(c.leaf), true},
		{"Statement", res.Statement.Equal(st), true},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.field, ch.got, ch.want)
		}
	}
}

// TestVerifyMismatchNamesTheDigest checks that a mismatch says which of
// size, SHA-256 and SHA-512 differ.
func TestVerifyMismatchNamesTheDigest(t *testing.T) {
	c := newTestChain(t, testNow)
	archive := []byte("the archive")
	st := statementFor(archive)
	tests := []struct {
		name    string
		edit    func(*Statement)
		archive []byte
		want    string
	}{
		{"size", func(s *Statement) { s.ArchiveSize++ }, archive, "size is 11 bytes, statement says 12"},
		{"SHA-256", func(s *Statement) { s.SHA256 = flipByte(s.SHA256, 5) }, archive, "archive does not match the statement: SHA-256 differs"},
		{"SHA-512", func(s *Statement) { s.SHA512 = flipByte(s.SHA512, 5) }, archive, "archive does not match the statement: SHA-512 differs"},
		{"everything", func(*Statement) {}, []byte("other"), "size is 5 bytes, statement says 11, SHA-256 differs, SHA-512 differs"},
		{"longer archive", func(*Statement) {}, []byte("the archive, and more"), "archive is longer than the stated 11 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := st
			tt.edit(&s)
			_, err := Verify(t.Context(), c.store(), signedFile(t, c.leafKey, s, c.leaf), bytes.NewReader(tt.archive), testNow)
			if !errors.Is(err, ErrDigestMismatch) || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
				t.Fatalf("Verify = %v, want ErrDigestMismatch saying %q", err, tt.want)
			}
		})
	}
}

// TestVerifyReadsAtMostSizePlusOne: a huge or endless archive is not read
// beyond what could still match.
func TestVerifyReadsAtMostSizePlusOne(t *testing.T) {
	c := newTestChain(t, testNow)
	zeros := make([]byte, 1000)
	f := signedFile(t, c.leafKey, statementFor(zeros), c.leaf)
	r := &countingReader{r: endlessZeros{}}
	_, err := Verify(t.Context(), c.store(), f, r, testNow)
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("Verify = %v, want ErrDigestMismatch", err)
	}
	if r.n != 1001 {
		t.Fatalf("read %d bytes of an endless archive, want 1001", r.n)
	}
}

type endlessZeros struct{}

func (endlessZeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// failingReader returns its data and then an I/O error.
type failingReader struct{ r io.Reader }

var errDisk = errors.New("disk on fire")

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errDisk
	}
	return n, err
}

func TestVerifyReadFailures(t *testing.T) {
	c := newTestChain(t, testNow)
	archive := bytes.Repeat([]byte{1}, 1<<20)
	f := signedFile(t, c.leafKey, statementFor(archive), c.leaf)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		archive io.Reader
		want    error
	}{
		{"I/O error is not a mismatch", t.Context(), &failingReader{bytes.NewReader(archive)}, errDisk},
		{"cancelled context", cancelled, bytes.NewReader(archive), context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(tt.ctx, c.store(), f, tt.archive, testNow)
			if !errors.Is(err, tt.want) || errors.Is(err, ErrDigestMismatch) {
				t.Fatalf("err = %v, want %v and no ErrDigestMismatch", err, tt.want)
			}
		})
	}
}

// TestVerifyFromFileBytes checks the pieces together as signerctl would:
// detect the profile, parse the file, verify.
func TestVerifyFromFileBytes(t *testing.T) {
	c := newTestChain(t, testNow)
	archive := bytes.Repeat([]byte("jar bytes "), 50000)
	b, err := signedFile(t, c.leafKey, statementFor(archive), c.leaf).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if p, err := DetectProfile(b); err != nil || p != ProfileDigestV1 {
		t.Fatalf("DetectProfile = %q, %v", p, err)
	}
	f, err := ParseFile(b)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Verify(t.Context(), c.store(), f, bytes.NewReader(archive), testNow)
	if err != nil {
		t.Fatal(err)
	}
	s512 := sha512.Sum512(archive)
	if !bytes.Equal(res.Statement.SHA512, s512[:]) {
		t.Fatalf("verified statement has SHA-512 %x, want %x", res.Statement.SHA512, s512)
	}
}

package statement

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/awskms"
	"github.com/appsign/signer/internal/kms/awskms/awscall"
	"github.com/appsign/signer/internal/kmsemu"
	"github.com/appsign/signer/internal/kmsemu/emutest"
)

func TestSign(t *testing.T) {
	key := newKey(t)
	st := statementFor([]byte("archive"))
	msg, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := Sign(t.Context(), &memSigner{key: key}, st)
	if err != nil {
		t.Fatal(err)
	}
	// Pure Ed25519 is deterministic: the signature is that of the exact
	// statement bytes, not of a digest or of anything else.
	if want := ed25519.Sign(key, msg); !bytes.Equal(sig, want) {
		t.Fatalf("Sign = %x, want ed25519.Sign(statement) = %x", sig, want)
	}
}

func TestSignErrors(t *testing.T) {
	key := newKey(t)
	valid := statementFor([]byte("archive"))
	invalid := valid
	invalid.Track = "CUSTOM"
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		signer    *memSigner
		st        Statement
		want      error
		wantCalls int32
	}{
		{"invalid statement is never sent to the key", t.Context(), &memSigner{key: key}, invalid, ErrInvalidStatement, 0},
		{"backend error", cancelled, &memSigner{key: key}, valid, context.Canceled, 1},
		{"backend returns a signature by another key", t.Context(), &memSigner{key: key, sign: func(msg []byte) ([]byte, error) {
			return ed25519.Sign(newKey(t), msg), nil
		}}, valid, kms.ErrBackendFault, 1},
		{"backend returns an Ed25519ph signature", t.Context(), &memSigner{key: key, sign: func(msg []byte) ([]byte, error) {
			digest := sha512.Sum512(msg)
			return key.Sign(rand.Reader, digest[:], &ed25519.Options{Hash: crypto.SHA512})
		}}, valid, kms.ErrBackendFault, 1},
		{"backend returns a short signature", t.Context(), &memSigner{key: key, sign: func(msg []byte) ([]byte, error) {
			return ed25519.Sign(key, msg)[:63], nil
		}}, valid, kms.ErrBackendFault, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := Sign(tt.ctx, tt.signer, tt.st)
			if !errors.Is(err, tt.want) || sig != nil {
				t.Fatalf("Sign = %x, %v; want %v", sig, err, tt.want)
			}
			if n := tt.signer.calls.Load(); n != tt.wantCalls {
				t.Errorf("SignMessage called %d times, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestSignFile(t *testing.T) {
	c := newTestChain(t, testNow)
	archive := []byte("archive bytes")
	st := statementFor(archive)
	tests := []struct {
		name string
		cert []byte
		want error // nil: signed
	}{
		{"certificate of the key", chain.CertificatePEM(c.leaf), nil},
		{"certificate of another key", chain.CertificatePEM(c.inter), chain.ErrInvalidKey},
		{"not a certificate", []byte("not PEM"), chain.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &memSigner{key: c.leafKey}
			f, err := SignFile(t.Context(), s, st, tt.cert)
			if tt.want != nil {
				if !errors.Is(err, tt.want) || s.calls.Load() != 0 {
					t.Fatalf("SignFile = %v after %d signatures; want %v and none", err, s.calls.Load(), tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := f.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := ParseFile(b)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Verify(t.Context(), c.store(), parsed, bytes.NewReader(archive), testNow); err != nil {
				t.Fatalf("Verify(SignFile()): %v", err)
			}
		})
	}
}

// TestSignWithAWSKMS signs a statement with a KMS-native Ed25519 key
// (ED25519_SHA_512, MessageType RAW) through the KMS wire protocol, and
// verifies it under a certificate issued for that key.
func TestSignWithAWSKMS(t *testing.T) {
	_, client := emutest.Start(t, kmsemu.Options{})
	backend, err := awskms.New(awskms.Options{Client: client, Retry: awscall.Policy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backend.Close() })
	uri, err := backend.CreateKey(t.Context(), kms.CreateKeyRequest{Name: "signer/digest-test", Purpose: "digest-signing"})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := backend.LoadSigner(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = signer.Close() })
	if signer.Limits().CanSign(MaxSize + 1) {
		t.Fatalf("test premise: the KMS key should not sign %d bytes", MaxSize+1)
	}

	c := newTestChain(t, testNow)
	cert, err := chain.NewSigningCertificate(rand.Reader, c.inter, c.interKey, signer.Public(), "kms digest signing", testNow, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	archive := bytes.Repeat([]byte("a large archive KMS could never pure-sign "), 200)
	f, err := SignFile(t.Context(), signer, statementFor(archive), chain.CertificatePEM(cert))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Verify(t.Context(), c.store(), f, bytes.NewReader(archive), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Certificate.Equal(cert) {
		t.Fatalf("verified under %q, want the KMS key's certificate", res.Subject)
	}
}

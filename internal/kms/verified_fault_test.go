package kms_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/appsign/signer/internal/eddsa"
	"github.com/appsign/signer/internal/kms"
)

// The tests in this file play a faulty key backend (a bit flip in an HSM, a
// KMS answering with another key, SoftHSM2 ignoring the Ed25519ph flag) and
// check the contract of kms.Verified: no signature that fails software
// verification is ever returned, the failure is ErrBackendFault, and the
// fault is reported once to onFault with the key's URI.

// fault turns the correct signature of msg by priv into what a faulty
// backend returns. pure says whether the caller asked for pure Ed25519
// (false: Ed25519ph over a SHA-512 digest).
type fault func(t *testing.T, priv ed25519.PrivateKey, msg []byte, pure bool) []byte

func honest(t *testing.T, priv ed25519.PrivateKey, msg []byte, pure bool) []byte {
	if pure {
		return ed25519.Sign(priv, msg)
	}
	sig, err := priv.Sign(nil, msg, &ed25519.Options{Hash: crypto.SHA512})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// faults are the ways a backend can go wrong that Verified must catch.
var faults = []struct {
	name string
	f    fault
}{
	{"one bit flipped", func(t *testing.T, priv ed25519.PrivateKey, msg []byte, pure bool) []byte {
		sig := honest(t, priv, msg, pure)
		sig[10] ^= 0x04
		return sig
	}},
	{"signed by another key", func(t *testing.T, _ ed25519.PrivateKey, msg []byte, pure bool) []byte {
		return honest(t, newTestKey(t), msg, pure)
	}},
	{"truncated signature", func(t *testing.T, priv ed25519.PrivateKey, msg []byte, pure bool) []byte {
		return honest(t, priv, msg, pure)[:ed25519.SignatureSize-1]
	}},
	{"signature with a byte appended", func(t *testing.T, priv ed25519.PrivateKey, msg []byte, pure bool) []byte {
		return append(honest(t, priv, msg, pure), 0)
	}},
	{"empty signature", func(*testing.T, ed25519.PrivateKey, []byte, bool) []byte {
		return []byte{}
	}},
	{"other variant (pure for Ed25519ph, Ed25519ph for pure)", func(t *testing.T, priv ed25519.PrivateKey, msg []byte, pure bool) []byte {
		if pure {
			d := sha512.Sum512(msg)
			return honest(t, priv, d[:], false)
		}
		return honest(t, priv, msg, true)
	}},
	{"signature of another message", func(t *testing.T, priv ed25519.PrivateKey, msg []byte, pure bool) []byte {
		other := bytes.Clone(msg)
		other[len(other)-1] ^= 1
		return honest(t, priv, other, pure)
	}},
}

func newTestKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// faultySigner is an Ed25519 key whose backend passes every signature
// through sign (honest, or one of faults). It implements only kms.Signer;
// the types below add the optional capabilities.
type faultySigner struct {
	t     *testing.T
	priv  ed25519.PrivateKey
	sign  fault
	err   error // returned instead of a signature when set
	calls atomic.Int32
	// during runs inside the backend call, before it returns (e.g. to cancel the caller's context).
	during func()
}

var faultyURI = kms.NewURI("faulty", map[string]string{"key": "k1"})

func (s *faultySigner) URI() kms.URI              { return faultyURI }
func (s *faultySigner) Public() ed25519.PublicKey { return s.priv.Public().(ed25519.PublicKey) }
func (s *faultySigner) Limits() kms.Limits        { return kms.Limits{MaxMessage: kms.Unlimited} }
func (s *faultySigner) Close() error              { return nil }

func (s *faultySigner) answer(msg []byte, pure bool) ([]byte, error) {
	s.calls.Add(1)
	if s.during != nil {
		s.during()
	}
	if s.err != nil {
		return nil, s.err
	}
	return s.sign(s.t, s.priv, msg, pure), nil
}

func (s *faultySigner) SignMessage(_ context.Context, msg []byte) ([]byte, error) {
	return s.answer(msg, true)
}

// faultyStreamSigner streams: it reads the whole message from the ReaderAt
// (as a streaming backend does) and signs what it read.
type faultyStreamSigner struct{ *faultySigner }

func (s faultyStreamSigner) SignStream(_ context.Context, msg io.ReaderAt, size int64) ([]byte, error) {
	buf, err := io.ReadAll(io.NewSectionReader(msg, 0, size))
	if err != nil {
		return nil, err
	}
	return s.answer(buf, true)
}

type faultyPrehashSigner struct{ *faultySigner }

func (s faultyPrehashSigner) SignPrehashed(_ context.Context, digest []byte) ([]byte, error) {
	return s.answer(digest, false)
}

type faultyStreamPrehashSigner struct{ *faultySigner }

func (s faultyStreamPrehashSigner) SignStream(ctx context.Context, msg io.ReaderAt, size int64) ([]byte, error) {
	return faultyStreamSigner(s).SignStream(ctx, msg, size)
}

func (s faultyStreamPrehashSigner) SignPrehashed(ctx context.Context, digest []byte) ([]byte, error) {
	return faultyPrehashSigner(s).SignPrehashed(ctx, digest)
}

// faultCounter records the URIs onFault is called with.
type faultCounter struct{ uris []kms.URI }

func (c *faultCounter) onFault(u kms.URI) { c.uris = append(c.uris, u) }

func (c *faultCounter) check(t *testing.T, want int) {
	t.Helper()
	if len(c.uris) != want {
		t.Fatalf("onFault called %d times, want %d", len(c.uris), want)
	}
	for _, u := range c.uris {
		if u.String() != faultyURI.String() {
			t.Errorf("onFault got URI %s, want %s", u, faultyURI)
		}
	}
}

// checkFault asserts the outcome of a call that got a faulty signature.
func checkFault(t *testing.T, sig []byte, err error, c *faultCounter) {
	t.Helper()
	if !errors.Is(err, kms.ErrBackendFault) {
		t.Fatalf("err = %v, want ErrBackendFault", err)
	}
	if sig != nil {
		t.Errorf("a faulty signature was returned: %x", sig)
	}
	if !strings.Contains(err.Error(), faultyURI.String()) {
		t.Errorf("error %q does not name the key %s", err, faultyURI)
	}
	c.check(t, 1)
}

// streamMessage is larger than eddsa's read buffer, so the verification
// after a streamed signature reads the message in several chunks.
func streamMessage() []byte {
	msg := make([]byte, 3<<20+17)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	return msg
}

// TestVerifiedSignStreamRejectsFaultySignature is hand-made survivor 1 of
// issue 17: the streaming path (archive signing with software and sealed
// keys) must verify the signature it got, not only the one-shot path.
func TestVerifiedSignStreamRejectsFaultySignature(t *testing.T) {
	msg := streamMessage()
	for _, tc := range faults {
		t.Run(tc.name, func(t *testing.T) {
			for name, wrap := range map[string]func(*faultySigner) kms.Signer{
				"stream":         func(s *faultySigner) kms.Signer { return faultyStreamSigner{s} },
				"stream+prehash": func(s *faultySigner) kms.Signer { return faultyStreamPrehashSigner{s} },
			} {
				t.Run(name, func(t *testing.T) {
					var c faultCounter
					fs := &faultySigner{t: t, priv: newTestKey(t), sign: tc.f}
					v, ok := kms.Verified(wrap(fs), c.onFault).(kms.StreamSigner)
					if !ok {
						t.Fatal("Verified dropped the StreamSigner capability")
					}
					sig, err := v.SignStream(t.Context(), bytes.NewReader(msg), int64(len(msg)))
					checkFault(t, sig, err, &c)
				})
			}
		})
	}
}

func TestVerifiedSignStream(t *testing.T) {
	msg := streamMessage()
	backendErr := errors.New("hsm: device error")
	tests := []struct {
		name      string
		err       error // the backend's error
		cancel    bool  // the caller's context is cancelled while the backend signs
		wantErr   error
		wantFault int
	}{
		{name: "honest backend", wantErr: nil},
		{name: "backend error is passed through, not counted as a fault", err: backendErr, wantErr: backendErr},
		{name: "cancelled during signing is a cancellation, not a fault", cancel: true, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var c faultCounter
			fs := &faultySigner{t: t, priv: newTestKey(t), sign: honest, err: tt.err}
			if tt.cancel {
				fs.during = cancel
			}
			v := kms.Verified(faultyStreamSigner{fs}, c.onFault).(kms.StreamSigner)
			sig, err := v.SignStream(ctx, bytes.NewReader(msg), int64(len(msg)))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			c.check(t, tt.wantFault)
			if tt.wantErr != nil {
				if sig != nil {
					t.Errorf("signature returned with an error: %x", sig)
				}
				return
			}
			if err := eddsa.Verify(t.Context(), fs.Public(), bytes.NewReader(msg), sig); err != nil {
				t.Errorf("the returned signature does not verify: %v", err)
			}
		})
	}
}

func TestVerifiedSignMessageRejectsFaultySignature(t *testing.T) {
	msg := []byte("statement bytes")
	for _, tc := range faults {
		t.Run(tc.name, func(t *testing.T) {
			var c faultCounter
			v := kms.Verified(&faultySigner{t: t, priv: newTestKey(t), sign: tc.f}, c.onFault)
			sig, err := v.SignMessage(t.Context(), msg)
			checkFault(t, sig, err, &c)
		})
	}
}

func TestVerifiedSignPrehashedRejectsFaultySignature(t *testing.T) {
	digest := sha512.Sum512([]byte("archive"))
	for _, tc := range faults {
		t.Run(tc.name, func(t *testing.T) {
			for name, wrap := range map[string]func(*faultySigner) kms.Signer{
				"prehash":        func(s *faultySigner) kms.Signer { return faultyPrehashSigner{s} },
				"stream+prehash": func(s *faultySigner) kms.Signer { return faultyStreamPrehashSigner{s} },
			} {
				t.Run(name, func(t *testing.T) {
					var c faultCounter
					fs := &faultySigner{t: t, priv: newTestKey(t), sign: tc.f}
					v, ok := kms.Verified(wrap(fs), c.onFault).(kms.PrehashSigner)
					if !ok {
						t.Fatal("Verified dropped the PrehashSigner capability")
					}
					sig, err := v.SignPrehashed(t.Context(), digest[:])
					checkFault(t, sig, err, &c)
				})
			}
		})
	}
}

func TestVerifiedPassesHonestSignatures(t *testing.T) {
	msg := []byte("archive bytes")
	digest := sha512.Sum512(msg)
	backendErr := errors.New("kms: throttled")
	for name, wrap := range map[string]func(*faultySigner) kms.Signer{
		"message only":   func(s *faultySigner) kms.Signer { return s },
		"prehash":        func(s *faultySigner) kms.Signer { return faultyPrehashSigner{s} },
		"stream+prehash": func(s *faultySigner) kms.Signer { return faultyStreamPrehashSigner{s} },
	} {
		t.Run(name, func(t *testing.T) {
			var c faultCounter
			fs := &faultySigner{t: t, priv: newTestKey(t), sign: honest}
			v := kms.Verified(wrap(fs), c.onFault)
			sig, err := v.SignMessage(t.Context(), msg)
			if err != nil || !ed25519.Verify(fs.Public(), msg, sig) {
				t.Fatalf("SignMessage = %x, %v; want a valid signature", sig, err)
			}
			if ps, ok := v.(kms.PrehashSigner); ok {
				sig, err := ps.SignPrehashed(t.Context(), digest[:])
				if err != nil || ed25519.VerifyWithOptions(fs.Public(), digest[:], sig, &ed25519.Options{Hash: crypto.SHA512}) != nil {
					t.Fatalf("SignPrehashed = %x, %v; want a valid Ed25519ph signature", sig, err)
				}
			}
			c.check(t, 0)

			// A backend error is the backend's, not a fault.
			fs.err = backendErr
			if sig, err := v.SignMessage(t.Context(), msg); !errors.Is(err, backendErr) || sig != nil {
				t.Errorf("SignMessage with a failing backend = %x, %v; want %v", sig, err, backendErr)
			}
			if ps, ok := v.(kms.PrehashSigner); ok {
				if sig, err := ps.SignPrehashed(t.Context(), digest[:]); !errors.Is(err, backendErr) || sig != nil {
					t.Errorf("SignPrehashed with a failing backend = %x, %v; want %v", sig, err, backendErr)
				}
			}
			c.check(t, 0)
		})
	}
}

func TestVerifiedKeepsCapabilities(t *testing.T) {
	tests := []struct {
		name               string
		signer             func(*faultySigner) kms.Signer
		streams, prehashes bool
	}{
		{"message only", func(s *faultySigner) kms.Signer { return s }, false, false},
		{"stream", func(s *faultySigner) kms.Signer { return faultyStreamSigner{s} }, true, false},
		{"prehash", func(s *faultySigner) kms.Signer { return faultyPrehashSigner{s} }, false, true},
		{"stream+prehash", func(s *faultySigner) kms.Signer { return faultyStreamPrehashSigner{s} }, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := kms.Verified(tt.signer(&faultySigner{t: t, priv: newTestKey(t), sign: honest}), nil)
			if _, ok := v.(kms.StreamSigner); ok != tt.streams {
				t.Errorf("StreamSigner = %v, want %v", ok, tt.streams)
			}
			if _, ok := v.(kms.PrehashSigner); ok != tt.prehashes {
				t.Errorf("PrehashSigner = %v, want %v", ok, tt.prehashes)
			}
			if !kms.SignaturesVerified(v) {
				t.Error("the Verified signer does not say its signatures are verified")
			}
			// Wrapping twice must not verify twice (one verification is most of
			// a small signature's cost): the same signer comes back.
			if again := kms.Verified(v, nil); again != v {
				t.Error("Verified(Verified(s)) wrapped a second time")
			}
		})
	}
}

// TestVerifiedFaultWithoutCounter: onFault is optional.
func TestVerifiedFaultWithoutCounter(t *testing.T) {
	v := kms.Verified(&faultySigner{t: t, priv: newTestKey(t), sign: faults[0].f}, nil)
	if sig, err := v.SignMessage(t.Context(), []byte("m")); !errors.Is(err, kms.ErrBackendFault) || sig != nil {
		t.Fatalf("SignMessage = %x, %v; want ErrBackendFault", sig, err)
	}
}

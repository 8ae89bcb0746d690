// Package kmstest is the conformance suite every key backend passes. A
// backend's tests call Run with a Harness in a few lines, the way
// trillian's storage backends share one tester.
package kmstest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha512"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/appsign/signer/internal/kms"
)

// Harness describes the backend under test.
type Harness struct {
	// NewBackend returns a fresh backend instance over the same key store,
	// so a key created through one instance can be loaded through another.
	NewBackend func(t *testing.T) kms.Backend
	// NewKey provisions a fresh key and returns its URI. If the backend is a
	// kms.KeyCreator this may simply call CreateKey.
	NewKey func(t *testing.T, b kms.Backend) kms.URI
	// MissingKey is a well-formed URI naming a key that does not exist.
	MissingKey kms.URI
	// MalformedKeys are URIs of this scheme that LoadSigner must reject
	// with kms.ErrInvalidURI (e.g. missing a required attribute).
	MalformedKeys []kms.URI
	// Secrets are strings (PINs, passphrases, key material in text form)
	// that must never appear in any error text the backend returns.
	Secrets []string
}

// errs collects every error seen during the suite for the secret scan.
type errs struct {
	mu  sync.Mutex
	all []error
}

func (e *errs) add(err error) error {
	if err != nil {
		e.mu.Lock()
		e.all = append(e.all, err)
		e.mu.Unlock()
	}
	return err
}

// Run runs the conformance suite.
func Run(t *testing.T, h Harness) {
	t.Helper()
	seen := &errs{}
	ctx := t.Context()

	load := func(t *testing.T, b kms.Backend, uri kms.URI) kms.Signer {
		t.Helper()
		s, err := b.LoadSigner(ctx, uri)
		if seen.add(err) != nil {
			t.Fatalf("LoadSigner(%s): %v", uri, err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}

	t.Run("SignVerify", func(t *testing.T) {
		b := h.NewBackend(t)
		s := load(t, b, h.NewKey(t, b))
		if len(s.Public()) != ed25519.PublicKeySize {
			t.Fatalf("public key is %d bytes", len(s.Public()))
		}
		for _, n := range sizes(s.Limits()) {
			msg := randomBytes(n)
			sig, err := s.SignMessage(ctx, msg)
			if seen.add(err) != nil {
				t.Fatalf("SignMessage(%d bytes): %v", n, err)
			}
			if !ed25519.Verify(s.Public(), msg, sig) {
				t.Fatalf("SignMessage(%d bytes): signature does not verify", n)
			}
			if n > 0 {
				msg[0] ^= 1
				if ed25519.Verify(s.Public(), msg, sig) {
					t.Fatalf("signature verifies for a modified message")
				}
			}
		}
	})

	t.Run("StreamSign", func(t *testing.T) {
		b := h.NewBackend(t)
		s := load(t, b, h.NewKey(t, b))
		ss := optional[kms.StreamSigner](t, s, s.Limits().Streams, "Streams")
		for _, n := range []int{0, 1, 1 << 20, 3<<20 + 17} {
			msg := randomBytes(n)
			sig, err := ss.SignStream(ctx, bytes.NewReader(msg), int64(n))
			if seen.add(err) != nil {
				t.Fatalf("SignStream(%d): %v", n, err)
			}
			if !ed25519.Verify(s.Public(), msg, sig) {
				t.Fatalf("SignStream(%d): signature does not verify", n)
			}
		}
		_, err := ss.SignStream(ctx, bytes.NewReader(make([]byte, 10)), 11)
		if seen.add(err) == nil {
			t.Fatal("SignStream with a reader shorter than size succeeded")
		}
	})

	t.Run("StablePublicKey", func(t *testing.T) {
		b := h.NewBackend(t)
		uri := h.NewKey(t, b)
		s1 := load(t, b, uri)
		s2 := load(t, h.NewBackend(t), uri)
		if !s1.Public().Equal(s2.Public()) {
			t.Fatal("public key differs between loads")
		}
		if s1.URI().String() != s2.URI().String() {
			t.Fatalf("URI differs between loads: %s vs %s", s1.URI(), s2.URI())
		}
		other := load(t, b, h.NewKey(t, b))
		if other.Public().Equal(s1.Public()) {
			t.Fatal("two new keys share a public key")
		}
	})

	t.Run("UnknownKey", func(t *testing.T) {
		b := h.NewBackend(t)
		_, err := b.LoadSigner(ctx, h.MissingKey)
		if !errors.Is(seen.add(err), kms.ErrKeyNotFound) {
			t.Fatalf("LoadSigner(missing) = %v, want ErrKeyNotFound", err)
		}
	})

	t.Run("MalformedURI", func(t *testing.T) {
		b := h.NewBackend(t)
		for _, uri := range h.MalformedKeys {
			_, err := b.LoadSigner(ctx, uri)
			if !errors.Is(seen.add(err), kms.ErrInvalidURI) {
				t.Errorf("LoadSigner(%s) = %v, want ErrInvalidURI", uri, err)
			}
		}
	})

	t.Run("Oversize", func(t *testing.T) {
		b := h.NewBackend(t)
		s := load(t, b, h.NewKey(t, b))
		max := s.Limits().MaxMessage
		if max == kms.Unlimited {
			t.Skip("backend has no message limit")
		}
		_, err := s.SignMessage(ctx, make([]byte, max+1))
		if !errors.Is(seen.add(err), kms.ErrMessageTooLarge) {
			t.Fatalf("SignMessage(max+1) = %v, want ErrMessageTooLarge", err)
		}
	})

	t.Run("Prehash", func(t *testing.T) {
		b := h.NewBackend(t)
		s := load(t, b, h.NewKey(t, b))
		ps := optional[kms.PrehashSigner](t, s, s.Limits().Prehash, "Prehash")
		d := sha512.Sum512(randomBytes(1000))
		sig, err := ps.SignPrehashed(ctx, d[:])
		if seen.add(err) != nil {
			t.Fatalf("SignPrehashed: %v", err)
		}
		if err := ed25519.VerifyWithOptions(s.Public(), d[:], sig, &ed25519.Options{Hash: crypto.SHA512}); err != nil {
			t.Fatalf("prehash signature does not verify as Ed25519ph: %v", err)
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		b := h.NewBackend(t)
		s := load(t, b, h.NewKey(t, b))
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.SignMessage(cctx, []byte("x"))
		if !errors.Is(seen.add(err), context.Canceled) {
			t.Fatalf("SignMessage(cancelled) = %v, want context.Canceled", err)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		b := h.NewBackend(t)
		s := load(t, b, h.NewKey(t, b))
		const workers, each = 8, 25
		var wg sync.WaitGroup
		failures := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					msg := fmt.Appendf(nil, "worker %d message %d", w, i)
					sig, err := s.SignMessage(ctx, msg)
					if seen.add(err) != nil {
						failures <- err
						return
					}
					if !ed25519.Verify(s.Public(), msg, sig) {
						failures <- fmt.Errorf("worker %d message %d: bad signature", w, i)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(failures)
		for err := range failures {
			t.Error(err)
		}
	})

	t.Run("CloseTwice", func(t *testing.T) {
		b := h.NewBackend(t)
		uri := h.NewKey(t, b)
		s, err := b.LoadSigner(ctx, uri)
		if seen.add(err) != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("first signer Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second signer Close: %v", err)
		}
		if _, err := s.SignMessage(ctx, []byte("x")); !errors.Is(seen.add(err), kms.ErrClosed) {
			t.Fatalf("SignMessage after Close = %v, want ErrClosed", err)
		}
		if err := b.Close(); err != nil {
			t.Fatalf("first backend Close: %v", err)
		}
		if err := b.Close(); err != nil {
			t.Fatalf("second backend Close: %v", err)
		}
	})

	t.Run("NoSecretInErrors", func(t *testing.T) {
		seen.mu.Lock()
		defer seen.mu.Unlock()
		if len(seen.all) == 0 {
			t.Fatal("suite saw no errors to scan")
		}
		for _, err := range seen.all {
			for _, secret := range h.Secrets {
				if secret != "" && strings.Contains(err.Error(), secret) {
					t.Errorf("error text contains a secret: %q", err.Error())
				}
			}
		}
	})
}

// sizes picks message sizes up to the backend's limit.
func sizes(l kms.Limits) []int {
	out := []int{0, 1, 32, 64, 1000, 4096}
	if l.MaxMessage == kms.Unlimited {
		return append(out, 64<<10)
	}
	// Services with a message limit (AWS KMS) also refuse empty messages;
	// the signer never signs an empty archive, so 0 is not asked of them.
	out = out[1:]
	keep := out[:0]
	for _, n := range out {
		if int64(n) <= l.MaxMessage {
			keep = append(keep, n)
		}
	}
	return keep
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}

// optional returns s as the optional capability T, failing the test when
// the Limits field named limit (advertised) disagrees with whether s
// implements T, and skipping it when the backend offers neither.
func optional[T kms.Signer](t *testing.T, s kms.Signer, advertised bool, limit string) T {
	t.Helper()
	c, ok := s.(T)
	if advertised != ok {
		t.Fatalf("Limits().%s = %v but %s implemented = %v", limit, advertised, reflect.TypeFor[T](), ok)
	}
	if !ok {
		t.Skipf("backend does not offer %s", reflect.TypeFor[T]())
	}
	return c
}

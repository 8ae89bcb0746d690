package sealedkms_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	kmsapi "github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/awskms/awscall"
	"github.com/appsign/signer/internal/kms/kmstest"
	"github.com/appsign/signer/internal/kms/sealedkms"
	"github.com/appsign/signer/internal/kmsemu"
	"github.com/appsign/signer/internal/kmsemu/emutest"
)

var fastRetry = awscall.Policy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

// env is a test emulator, a KEK in it and a key directory.
type env struct {
	srv *kmsemu.Server
	c   *kms.Client
	kek string
	dir string
}

func setup(t testing.TB) env {
	t.Helper()
	srv, c := emutest.Start(t, kmsemu.Options{})
	out, err := c.CreateKey(t.Context(), &kms.CreateKeyInput{Description: new("signer KEK")})
	if err != nil {
		t.Fatal(err)
	}
	return env{srv: srv, c: c, kek: *out.KeyMetadata.Arn, dir: t.TempDir()}
}

func (e env) backend(t testing.TB, o sealedkms.Options) *sealedkms.Backend {
	t.Helper()
	o.Client = e.c
	if o.KEK == "" {
		o.KEK = e.kek
	}
	if o.Environment == "" {
		o.Environment = "test"
	}
	if o.Dir == "" {
		o.Dir = e.dir
	}
	if o.Retry.BaseDelay == 0 {
		o.Retry = fastRetry
	}
	b, err := sealedkms.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

var keySeq atomic.Int64

func newKey(t testing.TB, b kmsapi.Backend) kmsapi.URI {
	t.Helper()
	uri, err := b.(kmsapi.KeyCreator).CreateKey(t.Context(), kmsapi.CreateKeyRequest{Name: fmt.Sprintf("key-%d", keySeq.Add(1)), Purpose: "archive-signing"})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return uri
}

func load(t testing.TB, b kmsapi.Backend, uri kmsapi.URI) kmsapi.StreamSigner {
	t.Helper()
	s, err := b.LoadSigner(t.Context(), uri)
	if err != nil {
		t.Fatalf("LoadSigner(%s): %v", uri, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.(kmsapi.StreamSigner)
}

func TestConformance(t *testing.T) {
	e := setup(t)
	kmstest.Run(t, kmstest.Harness{
		NewBackend: func(t *testing.T) kmsapi.Backend { return e.backend(t, sealedkms.Options{}) },
		NewKey:     func(t *testing.T, b kmsapi.Backend) kmsapi.URI { return newKey(t, b) },
		MissingKey: kmsapi.NewURI(sealedkms.Scheme, map[string]string{"path": filepath.Join(e.dir, "missing.sealed")}),
		MalformedKeys: []kmsapi.URI{
			kmsapi.MustParseURI("sealedkms:"),
			kmsapi.MustParseURI("sealedkms:path=relative.sealed"),
			kmsapi.MustParseURI("sealedkms:file=/x.sealed"),
			kmsapi.MustParseURI("sealedkms:path=/x.sealed;color=red"),
			kmsapi.MustParseURI("awskms:key-id=alias/x"),
		},
		Secrets: []string{emutest.SecretAccessKey},
	})
}

// check signs (whole and streamed) and checks health, expecting want (nil: success).
func check(t *testing.T, step string, b *sealedkms.Backend, s kmsapi.StreamSigner, want error) {
	t.Helper()
	msg := []byte("app.jar bytes")
	sig, err := s.SignMessage(t.Context(), msg)
	serr := func() error {
		_, err := s.SignStream(t.Context(), bytes.NewReader(msg), int64(len(msg)))
		return err
	}()
	herr := b.CheckHealth(t.Context())
	if want == nil {
		if err != nil || serr != nil || herr != nil {
			t.Fatalf("%s: sign = %v, stream = %v, health = %v; want all ok", step, err, serr, herr)
		}
		if !ed25519.Verify(s.Public(), msg, sig) {
			t.Fatalf("%s: signature does not verify", step)
		}
		return
	}
	if !errors.Is(err, want) || !errors.Is(serr, want) || !errors.Is(herr, want) {
		t.Fatalf("%s: sign = %v, stream = %v, health = %v; want %v", step, err, serr, herr, want)
	}
}

// TestRevocationWithoutRestart: disabling the KEK or denying access to it
// stops signing and health at once (checks on every signature), and
// re-enabling resumes both in the same process.
func TestRevocationWithoutRestart(t *testing.T) {
	e := setup(t)
	b := e.backend(t, sealedkms.Options{RecheckInterval: -1})
	s := load(t, b, newKey(t, b))
	ctx := t.Context()
	steps := []struct {
		name  string
		apply func() error
		want  error
	}{
		{"fresh", func() error { return nil }, nil},
		{"KEK disabled", func() error { _, err := e.c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: &e.kek}); return err }, kmsapi.ErrKeyDisabled},
		{"KEK enabled", func() error { _, err := e.c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: &e.kek}); return err }, nil},
		{"access denied", func() error { return e.srv.DenyKey(e.kek, true) }, kmsapi.ErrPermission},
		{"access restored", func() error { return e.srv.DenyKey(e.kek, false) }, nil},
		{"KEK pending deletion", func() error {
			_, err := e.c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: &e.kek, PendingWindowInDays: new(int32(7))})
			return err
		}, kmsapi.ErrKeyDisabled},
	}
	for _, st := range steps {
		if err := st.apply(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		check(t, st.name, b, s, st.want)
	}
	_, err := s.SignMessage(ctx, []byte("x"))
	var inv *types.KMSInvalidStateException
	if !errors.As(err, &inv) {
		t.Fatalf("error %v does not carry the KMS cause", err)
	}
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestRecheckInterval: a successful check is trusted for RecheckInterval,
// a refusal too, and CheckHealth re-checks at once.
func TestRecheckInterval(t *testing.T) {
	e := setup(t)
	clk := &fakeClock{now: time.Now()}
	b := e.backend(t, sealedkms.Options{RecheckInterval: time.Minute, Clock: clk.Now})
	s := load(t, b, newKey(t, b))
	sign := func() error { _, err := s.SignMessage(t.Context(), []byte("m")); return err }

	e.srv.ResetCalls()
	for range 10 {
		if err := sign(); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.srv.Calls("Decrypt"); n != 0 {
		t.Fatalf("%d Decrypt calls within the interval, want 0", n)
	}
	if err := e.srv.SetKeyEnabled(e.kek, false); err != nil {
		t.Fatal(err)
	}
	if err := sign(); err != nil {
		t.Fatalf("sign within the interval after disable: %v (the interval is the documented window)", err)
	}
	clk.Add(time.Minute)
	if err := sign(); !errors.Is(err, kmsapi.ErrKeyDisabled) {
		t.Fatalf("sign after the interval = %v, want ErrKeyDisabled", err)
	}
	if err := e.srv.SetKeyEnabled(e.kek, true); err != nil {
		t.Fatal(err)
	}
	if err := sign(); !errors.Is(err, kmsapi.ErrKeyDisabled) {
		t.Fatalf("sign with the refusal still cached = %v", err)
	}
	if err := b.CheckHealth(t.Context()); err != nil {
		t.Fatalf("CheckHealth after re-enable: %v", err)
	}
	if err := sign(); err != nil {
		t.Fatalf("sign after CheckHealth: %v", err)
	}
	if n := e.srv.Calls("Decrypt"); n != 2 {
		t.Fatalf("%d Decrypt calls, want 2 (one re-check, one health check)", n)
	}
}

// TestOutageGrace: throttling does not stop signing until the last good
// check is StaleAfter old.
func TestOutageGrace(t *testing.T) {
	e := setup(t)
	clk := &fakeClock{now: time.Now()}
	var logs lockedBuffer
	b := e.backend(t, sealedkms.Options{RecheckInterval: -1, StaleAfter: time.Minute, Clock: clk.Now,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	s := load(t, b, newKey(t, b))
	sign := func() error { _, err := s.SignMessage(t.Context(), []byte("m")); return err }
	e.srv.Throttle(-1)
	defer e.srv.Throttle(0)
	if err := sign(); err != nil {
		t.Fatalf("sign during a short outage: %v", err)
	}
	if !strings.Contains(logs.String(), "key encryption key check failed, still signing") {
		t.Errorf("the failed check was not logged:\n%s", logs.String())
	}
	clk.Add(time.Minute)
	if err := sign(); !errors.Is(err, kmsapi.ErrUnavailable) {
		t.Fatalf("sign after StaleAfter = %v, want ErrUnavailable", err)
	}
	e.srv.Throttle(0)
	if err := sign(); err != nil {
		t.Fatalf("sign after the outage: %v", err)
	}
}

func TestSealedFileIsBound(t *testing.T) {
	e := setup(t)
	prod := e.backend(t, sealedkms.Options{Environment: "prod"})
	uri := newKey(t, prod)
	path := uri.Get("path")
	original, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.c.CreateKey(t.Context(), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) func() {
		return func() {
			var m map[string]any
			if err := json.Unmarshal(original, &m); err != nil {
				t.Fatal(err)
			}
			f(m)
			data, _ := json.Marshal(m)
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name    string
		prepare func()
		backend *sealedkms.Backend
		uri     kmsapi.URI
		want    error
	}{
		{"intact", func() {}, prod, uri, nil},
		{"other environment", func() {}, e.backend(t, sealedkms.Options{Environment: "staging"}), uri, kmsapi.ErrPermission},
		{"context renamed", edit(func(m map[string]any) { m["encryption_context"].(map[string]any)["appsign-key"] = "other" }), prod, uri, kmsapi.ErrInvalidKey},
		{"context environment forged", edit(func(m map[string]any) { m["encryption_context"].(map[string]any)["appsign-environment"] = "staging" }),
			e.backend(t, sealedkms.Options{Environment: "staging"}), uri, kmsapi.ErrInvalidKey},
		{"public key swapped", edit(func(m map[string]any) { m["public_key"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }), prod, uri, kmsapi.ErrInvalidKey},
		{"other KEK named", func() { os.WriteFile(path, original, 0o600) },
			prod, kmsapi.NewURI(sealedkms.Scheme, map[string]string{"path": path, "kek": *other.KeyMetadata.Arn}), kmsapi.ErrInvalidKey},
		{"readable by others", func() { os.Chmod(path, 0o644) }, prod, uri, kmsapi.ErrPermission},
		{"not an envelope", func() { os.Chmod(path, 0o600); os.WriteFile(path, []byte("-----BEGIN PRIVATE KEY-----"), 0o600) }, prod, uri, kmsapi.ErrInvalidKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.prepare()
			s, err := tc.backend.LoadSigner(t.Context(), tc.uri)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("LoadSigner = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCreateKeyFile(t *testing.T) {
	e := setup(t)
	b := e.backend(t, sealedkms.Options{KEK: "alias/none"})
	if _, err := e.c.CreateAlias(t.Context(), &kms.CreateAliasInput{AliasName: new("alias/signer-kek"), TargetKeyId: &e.kek}); err != nil {
		t.Fatal(err)
	}
	req := kmsapi.CreateKeyRequest{Name: "archive-2026", Purpose: "archive-signing", Attrs: map[string]string{"kek": "alias/signer-kek"}}
	uri, err := b.CreateKey(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if uri.Get("kek") != e.kek {
		t.Errorf("URI kek = %q, want the KEK's ARN %q", uri.Get("kek"), e.kek)
	}
	fi, err := os.Stat(uri.Get("path"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, fi.Mode())
	}
	if _, err := b.CreateKey(t.Context(), req); err == nil {
		t.Fatal("CreateKey replaced an existing key file")
	}
	req.Name = "other"
	req.Attrs = nil // falls back to Options.KEK, which does not exist
	if _, err := b.CreateKey(t.Context(), req); !errors.Is(err, kmsapi.ErrKeyNotFound) {
		t.Fatalf("CreateKey with a missing KEK = %v, want ErrKeyNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "other.sealed")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a failed CreateKey left a file behind")
	}
	if err := b.DestroyKey(t.Context(), uri); err != nil {
		t.Fatal(err)
	}
	if err := b.DestroyKey(t.Context(), uri); !errors.Is(err, kmsapi.ErrKeyNotFound) {
		t.Fatalf("DestroyKey twice = %v, want ErrKeyNotFound", err)
	}
}

func TestConcurrentRecheck(t *testing.T) {
	e := setup(t)
	b := e.backend(t, sealedkms.Options{RecheckInterval: -1})
	s := load(t, b, newKey(t, b))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 10 {
				if i == 0 && j == 5 {
					e.srv.SetKeyEnabled(e.kek, false)
					e.srv.SetKeyEnabled(e.kek, true)
				}
				_, err := s.SignMessage(context.WithoutCancel(t.Context()), []byte("m"))
				if err != nil && !errors.Is(err, kmsapi.ErrKeyDisabled) {
					t.Errorf("SignMessage: %v", err)
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkSign(b *testing.B) {
	for _, bc := range []struct {
		name     string
		interval time.Duration
	}{{"recheck-30s", 0}, {"recheck-every-signature", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			e := setup(b)
			be := e.backend(b, sealedkms.Options{RecheckInterval: bc.interval})
			s := load(b, be, newKey(b, be))
			msg := make([]byte, 1024)
			for b.Loop() {
				if _, err := s.SignMessage(b.Context(), msg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sig/s")
		})
	}
}

// lockedBuffer is a log destination safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

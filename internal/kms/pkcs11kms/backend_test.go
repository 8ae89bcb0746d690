package pkcs11kms_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/pkcs11kms"
	"github.com/appsign/signer/internal/kms/pkcs11kms/softhsmtest"
)

func TestNewRejectsBadOptions(t *testing.T) {
	tok := softhsmtest.New(t)
	dir := t.TempDir()
	writePIN := func(name, pin string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(pin), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wrongPIN := "wrong-" + tok.UserPIN[:4]
	t.Setenv("PKCS11KMS_TEST_EMPTY_PIN", "")
	for _, tc := range []struct {
		name   string
		change func(o *pkcs11kms.Options)
		want   error // nil: any error
	}{
		{"no module", func(o *pkcs11kms.Options) { o.ModulePath = "" }, nil},
		{"relative module", func(o *pkcs11kms.Options) { o.ModulePath = "libsofthsm2.so" }, nil},
		{"missing module", func(o *pkcs11kms.Options) { o.ModulePath = "/nonexistent/lib.so" }, kms.ErrUnavailable},
		{"not a module", func(o *pkcs11kms.Options) { o.ModulePath = writePIN("fake.so", "x", 0o600) }, kms.ErrUnavailable},
		{"no token label", func(o *pkcs11kms.Options) { o.TokenLabel = "" }, nil},
		{"unknown token", func(o *pkcs11kms.Options) { o.TokenLabel = "no-such-token" }, kms.ErrUnavailable},
		{"no PIN source", func(o *pkcs11kms.Options) { o.PINFile = "" }, nil},
		{"two PIN sources", func(o *pkcs11kms.Options) { o.PINEnv = "X" }, nil},
		{"missing PIN file", func(o *pkcs11kms.Options) { o.PINFile = filepath.Join(dir, "none") }, kms.ErrPermission},
		{"group-readable PIN file", func(o *pkcs11kms.Options) { o.PINFile = writePIN("g.pin", tok.UserPIN, 0o640) }, kms.ErrPermission},
		{"world-readable PIN file", func(o *pkcs11kms.Options) { o.PINFile = writePIN("w.pin", tok.UserPIN, 0o604) }, kms.ErrPermission},
		{"empty PIN file", func(o *pkcs11kms.Options) { o.PINFile = writePIN("e.pin", "\n", 0o600) }, kms.ErrPermission},
		{"empty PIN env", func(o *pkcs11kms.Options) { o.PINFile, o.PINEnv = "", "PKCS11KMS_TEST_EMPTY_PIN" }, kms.ErrPermission},
		{"wrong PIN", func(o *pkcs11kms.Options) { o.PINFile = writePIN("bad.pin", wrongPIN, 0o600) }, kms.ErrPermission},
		{"negative pool", func(o *pkcs11kms.Options) { o.PoolSize = -1 }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tok.Options
			tc.change(&opts)
			b, err := pkcs11kms.New(t.Context(), opts)
			if err == nil {
				b.Close()
				t.Fatal("New succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("New = %v, want %v", err, tc.want)
			}
			for _, secret := range []string{tok.UserPIN, tok.SOPIN, wrongPIN} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error contains a PIN: %v", err)
				}
			}
		})
	}
}

func TestPINFromEnvironment(t *testing.T) {
	tok := softhsmtest.New(t)
	t.Setenv("PKCS11KMS_TEST_PIN", tok.UserPIN)
	opts := tok.Options
	opts.PINFile, opts.PINEnv = "", "PKCS11KMS_TEST_PIN"
	b := newBackend(t, opts)
	if err := b.CheckHealth(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestRecoversFromLostSessions(t *testing.T) {
	tok := softhsmtest.New(t)
	var events lockedLines
	opts := tok.Options
	opts.Log = slog.New(slog.NewTextHandler(&events, nil))
	b := newBackend(t, opts)
	s := load(t, b, newKey(t, b))
	mustSign(t, s, "before")

	softhsmtest.CloseAllSessions(t, tok.Options)
	mustSign(t, s, "after all sessions were closed")

	softhsmtest.CloseAllSessions(t, tok.Options)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { mustSign(t, s, fmt.Sprintf("concurrent %d", i)) })
	}
	wg.Wait()

	softhsmtest.CloseAllSessions(t, tok.Options)
	if err := b.CheckHealth(t.Context()); err != nil {
		t.Fatalf("CheckHealth after all sessions were closed: %v", err)
	}
	lines := events.get()
	t.Logf("recovery log:\n%s", strings.Join(lines, "\n"))
	if len(lines) == 0 || !strings.Contains(strings.Join(lines, "\n"), `failure="session lost"`) {
		t.Errorf("no recovery was logged: %q", lines)
	}
	for _, e := range lines {
		if strings.Contains(e, tok.UserPIN) {
			t.Errorf("log line contains the PIN: %q", e)
		}
	}
}

func TestClosedBackend(t *testing.T) {
	tok := softhsmtest.New(t)
	b, err := pkcs11kms.New(t.Context(), tok.Options)
	if err != nil {
		t.Fatal(err)
	}
	uri := newKey(t, b)
	s := load(t, b, uri)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for name, op := range map[string]func() error{
		"SignMessage": func() error { _, err := s.SignMessage(t.Context(), []byte("x")); return err },
		"LoadSigner":  func() error { _, err := b.LoadSigner(t.Context(), uri); return err },
		"CreateKey":   func() error { _, err := b.CreateKey(t.Context(), kms.CreateKeyRequest{Name: "late"}); return err },
		"DestroyKey":  func() error { return b.DestroyKey(t.Context(), uri) },
		"CheckHealth": func() error { return b.CheckHealth(t.Context()) },
	} {
		if err := op(); !errors.Is(err, kms.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

func TestBackendsShareTheModule(t *testing.T) {
	tok := softhsmtest.New(t)
	a := newBackend(t, tok.Options)
	b, err := pkcs11kms.New(t.Context(), tok.Options)
	if err != nil {
		t.Fatal(err)
	}
	s := load(t, a, newKey(t, a))
	mustSign(t, s, "both open")
	// Closing b must neither finalize the module nor log a out.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	mustSign(t, s, "after the other backend closed")
}

func TestCreateKey(t *testing.T) {
	tok := softhsmtest.New(t)
	b := newBackend(t, tok.Options)
	uri, err := b.CreateKey(t.Context(), kms.CreateKeyRequest{Name: "taken", Purpose: "archive-signing"})
	if err != nil {
		t.Fatal(err)
	}
	if uri.Get("token") != tok.Label || uri.Get("object") != "taken" || len(uri.Get("id")) != 32 {
		t.Errorf("CreateKey URI = %s, want token, object and a 16-byte hex id", uri)
	}
	for _, tc := range []struct {
		name string
		req  kms.CreateKeyRequest
		want error
	}{
		{"existing label", kms.CreateKeyRequest{Name: "taken"}, pkcs11kms.ErrKeyExists},
		{"empty name", kms.CreateKeyRequest{Name: ""}, nil},
		{"name with slash", kms.CreateKeyRequest{Name: "a/b"}, nil},
		{"name with semicolon", kms.CreateKeyRequest{Name: "a;id=00"}, nil},
		{"other token", kms.CreateKeyRequest{Name: "x", Attrs: map[string]string{"token": "other"}}, kms.ErrInvalidURI},
		{"unknown attribute", kms.CreateKeyRequest{Name: "y", Attrs: map[string]string{"slot": "0"}}, kms.ErrInvalidURI},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.CreateKey(t.Context(), tc.req)
			if err == nil {
				t.Fatalf("CreateKey(%q) succeeded", tc.req.Name)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("CreateKey = %v, want %v", err, tc.want)
			}
		})
	}
	// The same token attribute as the backend's is accepted.
	if _, err := b.CreateKey(t.Context(), kms.CreateKeyRequest{Name: "own-token", Attrs: map[string]string{"token": tok.Label}}); err != nil {
		t.Errorf("CreateKey with the backend's token: %v", err)
	}
}

func TestLoadByLabelOrID(t *testing.T) {
	tok := softhsmtest.New(t)
	b := newBackend(t, tok.Options)
	created := newKey(t, b)
	for _, tc := range []struct {
		name string
		uri  kms.URI
	}{
		{"as created", created},
		{"label only", kms.NewURI(pkcs11kms.Scheme, map[string]string{"token": tok.Label, "object": created.Get("object")})},
		{"id only", kms.NewURI(pkcs11kms.Scheme, map[string]string{"token": tok.Label, "id": created.Get("id")})},
		{"upper-case id", kms.NewURI(pkcs11kms.Scheme, map[string]string{"token": tok.Label, "id": strings.ToUpper(created.Get("id"))})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := load(t, b, tc.uri)
			if s.URI().String() != created.String() {
				t.Errorf("URI = %s, want canonical %s", s.URI(), created)
			}
		})
	}
	wrongID := kms.NewURI(pkcs11kms.Scheme, map[string]string{"token": tok.Label, "object": created.Get("object"), "id": "00"})
	if _, err := b.LoadSigner(t.Context(), wrongID); !errors.Is(err, kms.ErrKeyNotFound) {
		t.Errorf("LoadSigner(right label, wrong id) = %v, want ErrKeyNotFound", err)
	}
	otherToken := kms.NewURI(pkcs11kms.Scheme, map[string]string{"token": "other", "object": created.Get("object")})
	if _, err := b.LoadSigner(t.Context(), otherToken); !errors.Is(err, kms.ErrKeyNotFound) {
		t.Errorf("LoadSigner(other token) = %v, want ErrKeyNotFound", err)
	}
}

func TestDestroyKey(t *testing.T) {
	tok := softhsmtest.New(t)
	b := newBackend(t, tok.Options)
	uri := newKey(t, b)
	s := load(t, b, uri)
	if err := b.DestroyKey(t.Context(), uri); err != nil {
		t.Fatal(err)
	}
	if _, err := b.LoadSigner(t.Context(), uri); !errors.Is(err, kms.ErrKeyNotFound) {
		t.Errorf("LoadSigner after DestroyKey = %v, want ErrKeyNotFound", err)
	}
	if err := b.DestroyKey(t.Context(), uri); !errors.Is(err, kms.ErrKeyNotFound) {
		t.Errorf("second DestroyKey = %v, want ErrKeyNotFound", err)
	}
	if _, err := s.SignMessage(t.Context(), []byte("x")); !errors.Is(err, kms.ErrKeyNotFound) {
		t.Errorf("SignMessage with a destroyed key = %v, want ErrKeyNotFound", err)
	}
	// The label is free again.
	if _, err := b.CreateKey(t.Context(), kms.CreateKeyRequest{Name: uri.Get("object")}); err != nil {
		t.Errorf("CreateKey with a destroyed key's label: %v", err)
	}
}

func TestLargeMessage(t *testing.T) {
	tok := softhsmtest.New(t)
	b := newBackend(t, tok.Options)
	s := load(t, b, newKey(t, b))
	if got := s.Limits(); got != (kms.Limits{MaxMessage: pkcs11kms.DefaultMaxMessage}) {
		t.Fatalf("Limits = %+v", got)
	}
	msg := make([]byte, 8<<20)
	for i := range msg {
		msg[i] = byte(i)
	}
	sig, err := s.SignMessage(t.Context(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(s.Public(), msg, sig) {
		t.Fatal("8 MiB signature does not verify as pure Ed25519")
	}
}

func load(t *testing.T, b kms.Backend, uri kms.URI) kms.Signer {
	t.Helper()
	s, err := b.LoadSigner(t.Context(), uri)
	if err != nil {
		t.Fatalf("LoadSigner(%s): %v", uri, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustSign(t *testing.T, s kms.Signer, msg string) {
	t.Helper()
	sig, err := s.SignMessage(t.Context(), []byte(msg))
	if err != nil {
		t.Errorf("SignMessage(%q): %v", msg, err)
		return
	}
	if !ed25519.Verify(s.Public(), []byte(msg), sig) {
		t.Errorf("SignMessage(%q): signature does not verify", msg)
	}
}

// lockedLines collects a logger's records, one per Write, from any
// goroutine.
type lockedLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *lockedLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func (l *lockedLines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

package backends_test

import (
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/appsign/signer/internal/backends"
	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/awskms"
	"github.com/appsign/signer/internal/kms/pkcs11kms"
	"github.com/appsign/signer/internal/kms/pkcs11kms/softhsmtest"
	"github.com/appsign/signer/internal/kmsemu"
	"github.com/appsign/signer/internal/kmsemu/emutest"
)

// retries counts Hooks.OnRetry calls by scheme.
type retries struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *retries) hook(scheme string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n[scheme]++
}

func (r *retries) get(scheme string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[scheme]
}

// TestOpenReportsRetries: the backends Open builds report each retry of a
// throttled KMS call (the real SDK client against kmsemu) and of a lost
// PKCS#11 session (SoftHSM2) through Hooks.OnRetry, which feeds the
// signer_kms_backend_retries_total metric the alert rules watch. Before,
// only a test counted retries; the service never did.
func TestOpenReportsRetries(t *testing.T) {
	emu, err := kmsemu.New(kmsemu.Options{AccessKeyID: emutest.AccessKeyID, SecretAccessKey: emutest.SecretAccessKey, Region: emutest.Region})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(emu)
	t.Cleanup(hs.Close)
	// The configuration names no credentials: the SDK finds them in the
	// environment, as in production.
	t.Setenv("AWS_ACCESS_KEY_ID", emutest.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", emutest.SecretAccessKey)
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	tok := softhsmtest.New(t)
	b := config.Backends{
		AWS:    &config.AWSBackend{Region: emutest.Region, Endpoint: hs.URL},
		PKCS11: &config.PKCS11Backend{Module: tok.Options.ModulePath, Token: tok.Label, PINFile: tok.Options.PINFile},
	}
	counted := &retries{n: map[string]int{}}
	reg, err := backends.Open(t.Context(), b, nil, backends.Hooks{OnRetry: counted.hook})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	signer := func(t *testing.T, scheme string) kms.Signer {
		be, err := reg.Backend(scheme)
		if err != nil {
			t.Fatal(err)
		}
		uri, err := be.(kms.KeyCreator).CreateKey(t.Context(), kms.CreateKeyRequest{Name: "retry-test", Purpose: "test"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := reg.LoadSigner(t.Context(), uri)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}

	t.Run("awskms throttled twice", func(t *testing.T) {
		s := signer(t, awskms.Scheme)
		before := counted.get(awskms.Scheme)
		emu.Throttle(2)
		if _, err := s.SignMessage(t.Context(), []byte("checkpoint")); err != nil {
			t.Fatalf("sign through two throttled calls: %v", err)
		}
		if got := counted.get(awskms.Scheme) - before; got != 2 {
			t.Errorf("%d retries reported, want 2", got)
		}
	})
	t.Run("pkcs11 session lost", func(t *testing.T) {
		s := signer(t, pkcs11kms.Scheme)
		before := counted.get(pkcs11kms.Scheme)
		softhsmtest.CloseAllSessions(t, tok.Options)
		if _, err := s.SignMessage(t.Context(), []byte("archive")); err != nil {
			t.Fatalf("sign after the sessions were closed: %v", err)
		}
		if got := counted.get(pkcs11kms.Scheme) - before; got < 1 {
			t.Errorf("%d retries reported, want at least 1", got)
		}
	})
}

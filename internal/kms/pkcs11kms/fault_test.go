package pkcs11kms_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/pkcs11kms"
	"github.com/appsign/signer/internal/kms/pkcs11kms/softhsmtest"
)

func openFaulty(t *testing.T, opts pkcs11kms.Options) (*pkcs11kms.Backend, *pkcs11kms.Faults) {
	t.Helper()
	b, f, err := pkcs11kms.OpenFaulty(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, f
}

func TestSignRecovery(t *testing.T) {
	tok := softhsmtest.New(t)
	b, f := openFaulty(t, tok.Options)
	s := load(t, b, newKey(t, b))
	rv := func(code uint) error { return pkcs11.Error(code) }
	for _, tc := range []struct {
		name    string
		errs    []error
		want    error // nil: the signature succeeds
		reinits uint64
	}{
		{"stale handle", []error{rv(pkcs11.CKR_KEY_HANDLE_INVALID)}, nil, 0},
		{"session closed", []error{rv(pkcs11.CKR_SESSION_CLOSED)}, nil, 0},
		{"logged out", []error{rv(pkcs11.CKR_USER_NOT_LOGGED_IN)}, nil, 0},
		{"device error", []error{rv(pkcs11.CKR_DEVICE_ERROR)}, nil, 1},
		{"device removed", []error{rv(pkcs11.CKR_DEVICE_REMOVED)}, nil, 1},
		{"token not present", []error{rv(pkcs11.CKR_TOKEN_NOT_PRESENT)}, nil, 1},
		{"module finalized", []error{rv(pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED)}, nil, 1},
		{"session lost twice", []error{rv(pkcs11.CKR_SESSION_HANDLE_INVALID), rv(pkcs11.CKR_SESSION_HANDLE_INVALID)}, kms.ErrUnavailable, 0},
		{"device error twice", []error{rv(pkcs11.CKR_DEVICE_ERROR), rv(pkcs11.CKR_DEVICE_ERROR)}, kms.ErrUnavailable, 1},
		{"data too long", []error{rv(pkcs11.CKR_DATA_LEN_RANGE)}, kms.ErrMessageTooLarge, 0},
		{"not permitted", []error{rv(pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED)}, kms.ErrKeyDisabled, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gen := pkcs11kms.ModuleGeneration(b)
			f.Fail(tc.errs...)
			sig, err := s.SignMessage(t.Context(), []byte(tc.name))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("SignMessage: %v", err)
				}
				if !ed25519.Verify(s.Public(), []byte(tc.name), sig) {
					t.Fatal("signature does not verify")
				}
			} else if !errors.Is(err, tc.want) {
				t.Fatalf("SignMessage = %v, want %v", err, tc.want)
			}
			if got := pkcs11kms.ModuleGeneration(b) - gen; got != tc.reinits {
				t.Errorf("module re-initialized %d times, want %d", got, tc.reinits)
			}
			if left := f.Reset(); left != 0 {
				t.Errorf("%d injected failures were not reached", left)
			}
			// Whatever happened, the backend works for the next caller.
			mustSign(t, s, "next")
		})
	}
}

func TestWaitForSessionHonoursContext(t *testing.T) {
	tok := softhsmtest.New(t)
	opts := tok.Options
	opts.PoolSize = 1
	b := newBackend(t, opts)
	s := load(t, b, newKey(t, b))

	release := pkcs11kms.HoldSession(b) // another caller holds the only session
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.SignMessage(ctx, []byte("x")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("SignMessage while the pool is busy = %v, want DeadlineExceeded", err)
	}
	done := make(chan error, 1)
	go func() { _, err := s.SignMessage(t.Context(), []byte("x")); done <- err }()
	time.Sleep(20 * time.Millisecond)
	release()
	if err := <-done; err != nil {
		t.Errorf("SignMessage after the session came back: %v", err)
	}
}

func TestPINIsNotRetriedAfterRejection(t *testing.T) {
	tok := softhsmtest.New(t)
	b := newBackend(t, tok.Options)
	pkcs11kms.SetPIN(b, "not-the-pin")
	// Log the token out behind the pool's back: the next operation logs in again.
	softhsmtest.CloseAllSessions(t, tok.Options)
	for i := range 3 {
		err := b.CheckHealth(t.Context())
		if !errors.Is(err, kms.ErrPermission) {
			t.Fatalf("CheckHealth %d with a wrong PIN = %v, want ErrPermission", i, err)
		}
		if errors.Is(err, kms.ErrUnavailable) {
			t.Errorf("a wrong PIN reported as unavailable: %v", err)
		}
	}
	// After one rejected login the pool tries no more, so the token's retry
	// counter does not run down towards locking the PIN.
	pkcs11kms.SetPIN(b, tok.UserPIN)
	if err := b.CheckHealth(t.Context()); !errors.Is(err, kms.ErrPermission) {
		t.Errorf("CheckHealth after the PIN was rejected = %v, want ErrPermission", err)
	}
}

func TestPrivateKeyAttributes(t *testing.T) {
	tok := softhsmtest.New(t)
	b := newBackend(t, tok.Options)
	uri := newKey(t, b)
	want := map[uint]bool{
		pkcs11.CKA_TOKEN:             true,
		pkcs11.CKA_PRIVATE:           true,
		pkcs11.CKA_SENSITIVE:         true,
		pkcs11.CKA_ALWAYS_SENSITIVE:  true,
		pkcs11.CKA_EXTRACTABLE:       false,
		pkcs11.CKA_NEVER_EXTRACTABLE: true,
		pkcs11.CKA_SIGN:              true,
	}
	var types []uint
	for a := range want {
		types = append(types, a)
	}
	got, valueErr, err := pkcs11kms.PrivateKeyAttributes(t.Context(), b, uri, types...)
	if err != nil {
		t.Fatal(err)
	}
	for a, w := range want {
		if v := len(got[a]) == 1 && got[a][0] == 1; v != w {
			t.Errorf("attribute 0x%x = %v, want %v", a, v, w)
		}
	}
	if !errors.Is(valueErr, pkcs11.Error(pkcs11.CKR_ATTRIBUTE_SENSITIVE)) {
		t.Errorf("reading CKA_VALUE = %v, want CKR_ATTRIBUTE_SENSITIVE", valueErr)
	}
}

// TestSigningForbiddenByTheToken: a token administrator sets CKA_SIGN to
// false on a loaded key (SoftHSM2 then answers C_SignInit with
// CKR_KEY_FUNCTION_NOT_PERMITTED). Signing fails with kms.ErrKeyDisabled,
// which the server answers FailedPrecondition: retrying cannot help until
// somebody acts, so it must not look like an outage (ErrUnavailable).
func TestSigningForbiddenByTheToken(t *testing.T) {
	tok := softhsmtest.New(t)
	b := newBackend(t, tok.Options)
	uri := newKey(t, b)
	s := load(t, b, uri)
	if _, err := s.SignMessage(t.Context(), []byte("before")); err != nil {
		t.Fatalf("sign before: %v", err)
	}
	if err := pkcs11kms.ForbidSigning(t.Context(), b, uri); err != nil {
		t.Fatalf("set CKA_SIGN false: %v", err)
	}
	_, err := s.SignMessage(t.Context(), []byte("after"))
	if !errors.Is(err, kms.ErrKeyDisabled) || errors.Is(err, kms.ErrUnavailable) {
		t.Fatalf("sign after CKA_SIGN=false = %v, want ErrKeyDisabled (and not ErrUnavailable)", err)
	}
	if !errors.Is(err, pkcs11.Error(pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED)) {
		t.Errorf("error %v does not carry the module's CKR_KEY_FUNCTION_NOT_PERMITTED", err)
	}
}

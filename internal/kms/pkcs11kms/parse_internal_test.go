package pkcs11kms

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/appsign/signer/internal/kms"
)

func TestParseKeyURI(t *testing.T) {
	for _, tc := range []struct {
		uri   string
		want  keyRef
		err   error
		canon string
	}{
		{uri: "pkcs11:token=t;object=k", want: keyRef{token: "t", label: "k"}, canon: "pkcs11:object=k;token=t"},
		{uri: "pkcs11:object=k;token=t;id=0A0b", want: keyRef{token: "t", label: "k", id: []byte{10, 11}}, canon: "pkcs11:id=0a0b;object=k;token=t"},
		{uri: "pkcs11:token=t;id=01", want: keyRef{token: "t", id: []byte{1}}, canon: "pkcs11:id=01;token=t"},
		{uri: "pkcs11:token=t;object=a%20key", want: keyRef{token: "t", label: "a key"}, canon: "pkcs11:object=a%20key;token=t"},
		{uri: "pkcs11:token=other;object=k", err: kms.ErrKeyNotFound},
		{uri: "pkcs11:object=k", err: kms.ErrInvalidURI},
		{uri: "pkcs11:token=t", err: kms.ErrInvalidURI},
		{uri: "pkcs11:token=t;id=xyz", err: kms.ErrInvalidURI},
		{uri: "pkcs11:token=t;id=", err: kms.ErrInvalidURI},
		{uri: "pkcs11:token=t;object=k;module-path=/x.so", err: kms.ErrInvalidURI},
		{uri: "pkcs11:token=t;object=k;slot-id=0", err: kms.ErrInvalidURI},
		{uri: "softkms:token=t;object=k", err: kms.ErrInvalidURI},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			got, err := parseKeyURI(kms.MustParseURI(tc.uri), "t")
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.token != tc.want.token || got.label != tc.want.label || !bytes.Equal(got.id, tc.want.id) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if s := got.uri().String(); s != tc.canon {
				t.Errorf("canonical URI %s, want %s", s, tc.canon)
			}
		})
	}
}

func TestParsePublicKey(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	wrapped := append([]byte{0x04, 0x20}, key...)
	for _, tc := range []struct {
		name          string
		params, point []byte
		ok            bool
	}{
		{"OID, wrapped point", ed25519ParamsOID, wrapped, true},
		{"curve name, wrapped point", ed25519ParamsName, wrapped, true},
		{"OID, raw point", ed25519ParamsOID, key, true},
		{"Ed448 OID", []byte{0x06, 0x03, 0x2b, 0x65, 0x71}, wrapped, false},
		{"P-256 OID", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}, wrapped, false},
		{"no params", nil, wrapped, false},
		{"short point", ed25519ParamsOID, wrapped[:20], false},
		{"57-byte point", ed25519ParamsOID, append([]byte{0x04, 0x39}, bytes.Repeat([]byte{1}, 57)...), false},
		{"trailing bytes", ed25519ParamsOID, append(bytes.Clone(wrapped), 0), false},
		{"bit string", ed25519ParamsOID, append([]byte{0x03, 0x20}, key...), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub, err := parsePublicKey(tc.params, tc.point)
			if !tc.ok {
				if !errors.Is(err, kms.ErrInvalidKey) {
					t.Fatalf("err = %v, want ErrInvalidKey", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pub, key) {
				t.Errorf("key = %x", pub)
			}
		})
	}
}

func TestClassifyAndSentinel(t *testing.T) {
	for _, tc := range []struct {
		code     uint
		failure  failure
		sentinel error
	}{
		{pkcs11.CKR_OBJECT_HANDLE_INVALID, staleHandle, kms.ErrUnavailable},
		{pkcs11.CKR_SESSION_HANDLE_INVALID, sessionLost, kms.ErrUnavailable},
		{pkcs11.CKR_SESSION_CLOSED, sessionLost, kms.ErrUnavailable},
		{pkcs11.CKR_USER_NOT_LOGGED_IN, sessionLost, kms.ErrUnavailable},
		{pkcs11.CKR_DEVICE_ERROR, deviceLost, kms.ErrUnavailable},
		{pkcs11.CKR_DEVICE_REMOVED, deviceLost, kms.ErrUnavailable},
		{pkcs11.CKR_TOKEN_NOT_PRESENT, deviceLost, kms.ErrUnavailable},
		{pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED, deviceLost, kms.ErrUnavailable},
		{pkcs11.CKR_PIN_INCORRECT, final, kms.ErrPermission},
		{pkcs11.CKR_PIN_LOCKED, final, kms.ErrPermission},
		{pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED, final, kms.ErrKeyDisabled},
		{pkcs11.CKR_DATA_LEN_RANGE, final, kms.ErrMessageTooLarge},
		{pkcs11.CKR_MECHANISM_INVALID, final, kms.ErrUnsupported},
	} {
		t.Run(fmt.Sprint(pkcs11.Error(tc.code)), func(t *testing.T) {
			err := fmt.Errorf("op: %w", pkcs11.Error(tc.code))
			if got := classify(err); got != tc.failure {
				t.Errorf("classify = %v, want %v", got, tc.failure)
			}
			s := sentinel(err)
			if !errors.Is(s, tc.sentinel) || !errors.Is(s, pkcs11.Error(tc.code)) {
				t.Errorf("sentinel = %v, want %v wrapping the module error", s, tc.sentinel)
			}
			if sentinel(s) != s {
				t.Errorf("sentinel wraps twice: %v", sentinel(s))
			}
		})
	}
}

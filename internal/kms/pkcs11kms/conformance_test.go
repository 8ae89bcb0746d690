package pkcs11kms_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/kmstest"
	"github.com/appsign/signer/internal/kms/pkcs11kms"
	"github.com/appsign/signer/internal/kms/pkcs11kms/softhsmtest"
)

// newBackend opens a backend on opts and closes it when the test ends.
func newBackend(t *testing.T, opts pkcs11kms.Options) *pkcs11kms.Backend {
	t.Helper()
	b, err := pkcs11kms.New(t.Context(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// newKey creates a key with a name unique in the test process.
func newKey(t *testing.T, b kms.Backend) kms.URI {
	t.Helper()
	uri, err := b.(kms.KeyCreator).CreateKey(t.Context(), kms.CreateKeyRequest{Name: fmt.Sprintf("key-%d", keys.Add(1))})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return uri
}

var keys atomic.Int64

func TestConformance(t *testing.T) {
	tok := softhsmtest.New(t)
	opts := tok.Options
	// Keeps kmstest's Oversize case (a max+1 byte message) small.
	opts.MaxMessage = 1 << 20
	kmstest.Run(t, kmstest.Harness{
		NewBackend: func(t *testing.T) kms.Backend { return newBackend(t, opts) },
		NewKey:     newKey,
		MissingKey: kms.MustParseURI("pkcs11:token=" + tok.Label + ";object=missing"),
		MalformedKeys: []kms.URI{
			kms.MustParseURI("pkcs11:"),
			kms.MustParseURI("pkcs11:object=signing"),
			kms.MustParseURI("pkcs11:token=" + tok.Label),
			kms.MustParseURI("pkcs11:token=" + tok.Label + ";id=zz"),
			kms.MustParseURI("pkcs11:token=" + tok.Label + ";object=a;module-path=/tmp/evil.so"),
			kms.MustParseURI("softkms:path=/x.key"),
		},
		Secrets: []string{tok.UserPIN, tok.SOPIN},
	})
}

package keystore_test

import (
	"errors"
	"testing"

	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/pkcs11kms"
	"github.com/appsign/signer/internal/kms/pkcs11kms/softhsmtest"
)

// Keys on an HSM (SoftHSM2): create, sign, rotate, and a failed rotation
// destroys the key it generated on the token.
func TestPKCS11Backend(t *testing.T) {
	tok := softhsmtest.New(t) // before any backend opens the module
	e := newEnv(t)
	hsm, err := pkcs11kms.New(t.Context(), tok.Options)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hsm.Close() })
	rec := &faultBackend{Backend: hsm}
	if err := e.reg.Register(rec); err != nil {
		t.Fatal(err)
	}
	s := e.store(t, keystore.Options{})
	ctx := t.Context()
	spec := keystore.BackendSpec{Scheme: pkcs11kms.Scheme}

	v1, err := s.Create(ctx, "hsm-signing", keystore.RoleArchiveSigning, spec, actor)
	if err != nil {
		t.Fatalf("Create on the HSM: %v", err)
	}
	if v1.BackendURI.Scheme != pkcs11kms.Scheme || v1.BackendURI.Get("token") != tok.Label {
		t.Errorf("backend URI %s, want a key on token %s", v1.BackendURI, tok.Label)
	}
	l, err := s.Active(ctx, "hsm-signing")
	if err != nil {
		t.Fatal(err)
	}
	mustSign(t, l, []byte("signed in the HSM"))

	// A failed rotation removes the key pair it generated on the token.
	e.ca.set(func(ca *testCA) { ca.fail = errInjected })
	if _, err := s.Rotate(ctx, "hsm-signing", keystore.BackendSpec{}, actor); !errors.Is(err, errInjected) {
		t.Fatalf("Rotate with a failing issuer: %v", err)
	}
	created, destroyed := rec.counts()
	if len(created) != 2 || len(destroyed) != 1 || destroyed[0].String() != created[1].String() {
		t.Fatalf("created %v, destroyed %v; want the second key destroyed", created, destroyed)
	}
	if _, err := hsm.LoadSigner(ctx, created[1]); !errors.Is(err, kms.ErrKeyNotFound) {
		t.Errorf("loading the destroyed key: %v, want ErrKeyNotFound", err)
	}
	e.ca.set(func(ca *testCA) { ca.fail = nil })

	v2, err := s.Rotate(ctx, "hsm-signing", keystore.BackendSpec{}, actor)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	l2, err := s.Active(ctx, "hsm-signing")
	if err != nil || l2.Version.Version != 2 || !l2.PublicKey.Equal(v2.PublicKey) {
		t.Fatalf("Active = %v, %v; want v2", l2, err)
	}
	mustSign(t, l2, []byte("signed with v2 in the HSM"))
	old, err := e.replica(t).Lookup(ctx, "hsm-signing", 1)
	if err != nil {
		t.Fatalf("replica Lookup v1: %v", err)
	}
	mustSign(t, old, []byte("retired HSM key still verifies"))
}

package kms_test

import (
	"testing"

	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
)

func TestSignaturesVerified(t *testing.T) {
	b := softkms.New(softkms.Options{Dir: t.TempDir()})
	uri, err := b.CreateKey(t.Context(), kms.CreateKeyRequest{Name: "k"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.LoadSigner(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	if kms.SignaturesVerified(raw) {
		t.Error("a backend's own signer claims its signatures are verified")
	}
	v := kms.Verified(raw, nil)
	if !kms.SignaturesVerified(v) {
		t.Error("a Verified signer does not say so")
	}
	if _, ok := v.(kms.StreamSigner); !ok || !kms.SignaturesVerified(v) {
		t.Error("the streaming Verified variant lost the mark or the capability")
	}
}

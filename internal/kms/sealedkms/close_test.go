package sealedkms

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	kmsapi "github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kmsemu"
	"github.com/appsign/signer/internal/kmsemu/emutest"
)

func TestCloseWipesKey(t *testing.T) {
	_, c := emutest.Start(t, kmsemu.Options{})
	out, err := c.CreateKey(t.Context(), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Options{Client: c, KEK: *out.KeyMetadata.Arn, Environment: "test", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	uri, err := b.CreateKey(t.Context(), kmsapi.CreateKeyRequest{Name: "k"})
	if err != nil {
		t.Fatal(err)
	}
	ks, err := b.LoadSigner(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	s := ks.(*Signer)
	priv := s.priv
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, x := range priv {
		if x != 0 {
			t.Fatal("private key bytes survive Close")
		}
	}
	if len(b.signers) != 0 {
		t.Fatal("closed signer still tracked for health checks")
	}
}

package keystore_test

import (
	"testing"

	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms/pkcs11kms"
	"github.com/appsign/signer/internal/kms/pkcs11kms/softhsmtest"
)

// BenchmarkActive is the cost the signing path pays per request.
func BenchmarkActive(b *testing.B) {
	e := newEnv(b)
	s := e.store(b, keystore.Options{})
	ctx := b.Context()
	if _, err := s.Create(ctx, "marketplace-signing", keystore.RoleArchiveSigning, soft, actor); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Active(ctx, "marketplace-signing"); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Active(ctx, "marketplace-signing"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Active(ctx, "marketplace-signing"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkRotate is the latency of one rotation end to end: backend key,
// load, self-test, certificate, transaction, swap.
func BenchmarkRotate(b *testing.B) {
	b.Run("softkms", func(b *testing.B) {
		e := newEnv(b)
		benchRotate(b, e, soft)
	})
	b.Run("pkcs11", func(b *testing.B) {
		tok := softhsmtest.New(b)
		e := newEnv(b)
		hsm, err := pkcs11kms.New(b.Context(), tok.Options)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = hsm.Close() })
		if err := e.reg.Register(hsm); err != nil {
			b.Fatal(err)
		}
		benchRotate(b, e, keystore.BackendSpec{Scheme: pkcs11kms.Scheme})
	})
}

func benchRotate(b *testing.B, e *env, spec keystore.BackendSpec) {
	s := e.store(b, keystore.Options{})
	ctx := b.Context()
	if _, err := s.Create(ctx, "marketplace-signing", keystore.RoleArchiveSigning, spec, actor); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Rotate(ctx, "marketplace-signing", spec, actor); err != nil {
			b.Fatal(err)
		}
	}
}

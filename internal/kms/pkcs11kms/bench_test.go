package pkcs11kms_test

import (
	"testing"

	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/pkcs11kms"
	"github.com/appsign/signer/internal/kms/pkcs11kms/softhsmtest"
)

// BenchmarkSign measures 1 KiB signatures on SoftHSM2, from one goroutine
// and from GOMAXPROCS goroutines sharing the default session pool.
func BenchmarkSign(b *testing.B) {
	tok := softhsmtest.New(b)
	be, err := pkcs11kms.New(b.Context(), tok.Options)
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	uri, err := be.CreateKey(b.Context(), kms.CreateKeyRequest{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	s, err := be.LoadSigner(b.Context(), uri)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	msg := make([]byte, 1<<10)
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
	}
	b.Run("serial", func(b *testing.B) {
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if _, err := s.SignMessage(b.Context(), msg); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetBytes(int64(len(msg)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.SignMessage(b.Context(), msg); err != nil {
					b.Error(err)
					return
				}
			}
		})
		report(b)
	})
}

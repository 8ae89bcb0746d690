package softkms_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/kmstest"
	"github.com/appsign/signer/internal/kms/softkms"
)

func TestConformance(t *testing.T) {
	dir := t.TempDir()
	n := 0
	kmstest.Run(t, kmstest.Harness{
		NewBackend: func(t *testing.T) kms.Backend { return softkms.New(softkms.Options{Dir: dir}) },
		NewKey: func(t *testing.T, b kms.Backend) kms.URI {
			n++
			uri, err := b.(kms.KeyCreator).CreateKey(t.Context(), kms.CreateKeyRequest{Name: fmt.Sprintf("key-%d", n)})
			if err != nil {
				t.Fatal(err)
			}
			return uri
		},
		MissingKey: kms.NewURI(softkms.Scheme, map[string]string{"path": filepath.Join(dir, "missing.key")}),
		MalformedKeys: []kms.URI{
			kms.MustParseURI("softkms:"),
			kms.MustParseURI("softkms:path=relative.key"),
			kms.MustParseURI("softkms:file=/x.key"),
		},
	})
}

func TestRefusesReadableKeyFile(t *testing.T) {
	dir := t.TempDir()
	b := softkms.New(softkms.Options{Dir: dir})
	uri, err := b.CreateKey(t.Context(), kms.CreateKeyRequest{Name: "signing"})
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		if err := os.Chmod(uri.Get("path"), mode); err != nil {
			t.Fatal(err)
		}
		if _, err := b.LoadSigner(t.Context(), uri); err == nil || !errors.Is(err, kms.ErrPermission) {
			t.Errorf("mode %04o: LoadSigner = %v, want ErrPermission", mode, err)
		}
	}
}

func TestCreateKeyRefusesOverwriteAndBadNames(t *testing.T) {
	b := softkms.New(softkms.Options{Dir: t.TempDir()})
	if _, err := b.CreateKey(t.Context(), kms.CreateKeyRequest{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	for name, req := range map[string]kms.CreateKeyRequest{
		"existing":  {Name: "a"},
		"traversal": {Name: "../a"},
		"empty":     {Name: ""},
	} {
		if _, err := b.CreateKey(t.Context(), req); err == nil {
			t.Errorf("%s: CreateKey(%q) succeeded", name, req.Name)
		}
	}
}

// BenchmarkSign measures 1 KiB signatures through the verifying wrapper,
// as the service uses them (sign + verify-after-sign).
func BenchmarkSign(b *testing.B) {
	be := softkms.New(softkms.Options{Dir: b.TempDir()})
	uri, err := be.CreateKey(b.Context(), kms.CreateKeyRequest{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	s, err := be.LoadSigner(b.Context(), uri)
	if err != nil {
		b.Fatal(err)
	}
	v := kms.Verified(s, nil)
	msg := make([]byte, 1024)
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.SignMessage(b.Context(), msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sig/s")
}

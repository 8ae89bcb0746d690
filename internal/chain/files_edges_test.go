package chain

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReadKeyFileSizeLimit: a key file is read up to maxKeyFileSize bytes
// and refused beyond, never silently truncated.
func TestReadKeyFileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		size int
		ok   bool
	}{
		{"at the limit", maxKeyFileSize, true},
		{"one byte over", maxKeyFileSize + 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			want := bytes.Repeat([]byte("k"), tt.size)
			if err := os.WriteFile(path, want, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readKeyFile(path)
			if tt.ok {
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("readKeyFile = %d bytes, %v; want all %d", len(got), err, tt.size)
				}
				return
			}
			if !errors.Is(err, ErrInvalidKey) || got != nil {
				t.Fatalf("readKeyFile = %d bytes, %v; want ErrInvalidKey", len(got), err)
			}
		})
	}
}

// TestEnsureDevPKIRenewalBoundary: with exactly RenewWindow left the dev
// signing certificate is kept; a nanosecond less and it is renewed.
func TestEnsureDevPKIRenewalBoundary(t *testing.T) {
	dir := t.TempDir()
	first := ensureDev(t, dir, testNow)
	at := first.Signing.NotAfter.Add(-RenewWindow)
	if got := ensureDev(t, dir, at); !got.Signing.Equal(first.Signing) {
		t.Fatal("renewed with exactly RenewWindow left")
	}
	if got := ensureDev(t, dir, at.Add(time.Nanosecond)); got.Signing.Equal(first.Signing) {
		t.Fatal("not renewed with less than RenewWindow left")
	}
}

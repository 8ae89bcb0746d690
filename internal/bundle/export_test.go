package bundle_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/bundle"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
)

// kmsLike is a key that pure-signs at most 4096 bytes, like AWS KMS.
type kmsLike struct{ kms.Signer }

func (k kmsLike) Limits() kms.Limits { return kms.Limits{MaxMessage: 4096} }

func (k kmsLike) SignMessage(ctx context.Context, msg []byte) ([]byte, error) {
	if len(msg) > 4096 {
		return nil, kms.ErrMessageTooLarge
	}
	return k.Signer.SignMessage(ctx, msg)
}

func TestExportRefuses(t *testing.T) {
	f := newFixture(t, testNow)
	other := newFixture(t, testNow)
	expired := f.intermediate(t, "test old CA", testNow.Add(-2*year), year)
	codeSigning, err := chain.NewSigningCertificate(rand.Reader, f.inter, kms.CryptoSigner(t.Context(), f.interKey), f.bundleKey.Public(), "test signing", testNow, year)
	if err != nil {
		t.Fatal(err)
	}
	manyCAs := f.bundle(1)
	for range 12 {
		manyCAs.Intermediates = append(manyCAs.Intermediates, f.intermediate(t, "test marketplace CA with a long name for size", testNow, year))
	}

	tests := []struct {
		name    string
		b       func() bundle.Bundle
		signer  kms.Signer
		want    error
		wantMsg string
	}{
		{"version zero", func() bundle.Bundle { b := f.bundle(0); return b }, f.bundleKey, bundle.ErrInvalidBundle, "version"},
		{"no root", func() bundle.Bundle { b := f.bundle(1); b.Roots = nil; return b }, f.bundleKey, bundle.ErrInvalidBundle, "no root"},
		{"intermediate as root", func() bundle.Bundle { b := f.bundle(1); b.Roots = append(b.Roots, f.inter); return b }, f.bundleKey, bundle.ErrInvalidBundle, "not self-signed"},
		{"expired intermediate", func() bundle.Bundle { b := f.bundle(1); b.Intermediates = append(b.Intermediates, expired); return b }, f.bundleKey, bundle.ErrInvalidBundle, "expired"},
		{"intermediate of another root", func() bundle.Bundle {
			b := f.bundle(1)
			b.Intermediates = append(b.Intermediates, other.inter)
			return b
		}, f.bundleKey, bundle.ErrInvalidBundle, "not issued by a CA of the bundle"},
		{"signer certificate of another key", func() bundle.Bundle { return f.bundle(1) }, f.revKey, bundle.ErrInvalidBundle, "not the certificate of key"},
		{"code-signing certificate as signer", func() bundle.Bundle { b := f.bundle(1); b.SignerCertificate = codeSigning; return b }, f.bundleKey, bundle.ErrInvalidBundle, "policy"},
		{"revocation signer as bundle signer", func() bundle.Bundle { b := f.bundle(1); b.SignerCertificate = f.revocationCert; return b }, f.revKey, bundle.ErrInvalidBundle, "policy"},
		{"revocation list of another vendor", func() bundle.Bundle {
			b := f.bundle(1)
			b.RevocationList = other.revocationList(t, 1, testNow)
			return b
		}, f.bundleKey, bundle.ErrInvalidBundle, "revocation list"},
		{"stale revocation list", func() bundle.Bundle {
			b := f.bundle(1)
			b.RevocationList = f.revocationList(t, 1, testNow.Add(-8*day))
			return b
		}, f.bundleKey, bundle.ErrInvalidBundle, "stale"},
		{"CRL of another CA", func() bundle.Bundle { b := f.bundle(1); b.CRLs = [][]byte{other.crl(t, 1, testNow)}; return b }, f.bundleKey, bundle.ErrInvalidBundle, "CRL 1"},
		{"stale CRL", func() bundle.Bundle { b := f.bundle(1); b.CRLs = [][]byte{f.crl(t, 1, testNow.Add(-8*day))}; return b }, f.bundleKey, bundle.ErrInvalidBundle, "due for update"},
		{"manifest too large for a KMS key", func() bundle.Bundle { return manyCAs }, kmsLike{f.bundleKey}, kms.ErrMessageTooLarge, "bundle-signing key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			err := bundle.Export(t.Context(), dir, tt.b(), tt.signer, testNow)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Export = %v, want %v saying %q", err, tt.want, tt.wantMsg)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a refused export left %s behind", dir)
			}
		})
	}
}

func TestExportSmallBundleWithKMSRoot(t *testing.T) {
	f := newFixture(t, testNow)
	b := f.bundle(1)
	b.SignerCertificate = f.root
	dir := filepath.Join(t.TempDir(), "out")
	if err := bundle.Export(t.Context(), dir, b, kmsLike{f.rootKey}, testNow); err != nil {
		t.Fatalf("Export of a small bundle signed by a 4096-byte root key = %v", err)
	}
	if _, err := bundle.Verify(dir, f.trust(), testNow); err != nil {
		t.Error(err)
	}
}

func TestExportRefusesExistingDirectory(t *testing.T) {
	f := newFixture(t, testNow)
	dir := t.TempDir()
	marker := filepath.Join(dir, "keep")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := bundle.Export(t.Context(), dir, f.bundle(1), f.bundleKey, testNow); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Export into an existing directory = %v, want fs.ErrExist", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("existing directory was changed: %v", err)
	}
}

func TestExportPrepositionsNextIntermediate(t *testing.T) {
	f := newFixture(t, testNow)
	next := f.intermediate(t, "test next CA", testNow.Add(60*day), 5*year)
	b := f.bundle(1)
	b.Intermediates = append(b.Intermediates, next)
	dir := f.export(t, b, testNow)
	v, err := bundle.Verify(dir, f.trust(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tc := range v.Certificates {
		found = found || tc.Cert.Equal(next)
	}
	if !found {
		t.Error("the not-yet-valid intermediate is not in the verified bundle")
	}
	if len(v.Warnings) != 0 {
		t.Errorf("Warnings = %q, want none for a pre-positioned CA", v.Warnings)
	}
}

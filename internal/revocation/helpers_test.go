package revocation_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/revocation"
)

// testNow is the fixed clock of these tests.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const year = 365 * 24 * time.Hour

var keySeq atomic.Int64

// newSigner creates a software key in a temporary directory.
func newSigner(t *testing.T) kms.Signer {
	t.Helper()
	b := softkms.New(softkms.Options{Dir: t.TempDir()})
	uri, err := b.CreateKey(t.Context(), kms.CreateKeyRequest{Name: fmt.Sprintf("k%d", keySeq.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.LoadSigner(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// testPKI is a root and an intermediate CA with keys in softkms.
type testPKI struct {
	root, inter       *x509.Certificate
	rootKey, interKey kms.Signer
}

func newPKI(t *testing.T, now time.Time) testPKI {
	t.Helper()
	p := testPKI{rootKey: newSigner(t), interKey: newSigner(t)}
	var err error
	rootCS := kms.CryptoSigner(t.Context(), p.rootKey)
	if p.root, err = chain.NewRootCA(rand.Reader, rootCS, "test root CA", now, 10*year); err != nil {
		t.Fatal(err)
	}
	if p.inter, err = chain.NewIntermediateCA(rand.Reader, p.root, rootCS, p.interKey.Public(), "test marketplace CA", now, 5*year); err != nil {
		t.Fatal(err)
	}
	return p
}

// leaf issues a code-signing certificate under the intermediate.
func (p testPKI) leaf(t *testing.T, now time.Time) *x509.Certificate {
	t.Helper()
	c, err := chain.NewSigningCertificate(rand.Reader, p.inter, kms.CryptoSigner(t.Context(), p.interKey), newSigner(t).Public(), "test signing", now, year)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// signerCert issues a trust-metadata signing certificate for key under
// parent for purpose.
func signerCert(t *testing.T, parent *x509.Certificate, parentKey kms.Signer, key kms.Signer, purpose x509.OID, now time.Time, validity time.Duration) *x509.Certificate {
	t.Helper()
	c, err := revocation.NewSignerCertificate(rand.Reader, parent, kms.CryptoSigner(t.Context(), parentKey), key.Public(), "test revocation signer", purpose, now, validity)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// limitedSigner is a key that pure-signs at most max bytes, like AWS KMS.
type limitedSigner struct {
	kms.Signer
	max int64
}

func (l limitedSigner) Limits() kms.Limits { return kms.Limits{MaxMessage: l.max} }

func (l limitedSigner) SignMessage(ctx context.Context, msg []byte) ([]byte, error) {
	if int64(len(msg)) > l.max {
		return nil, kms.ErrMessageTooLarge
	}
	return l.Signer.SignMessage(ctx, msg)
}

// requireTool returns the path of an external tool. Without it the test is
// skipped on a laptop but fails in CI (CI=true).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return path
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sampleInput is a small valid list input at testNow.
func sampleInput() revocation.Input {
	return revocation.Input{
		Issuer:     "appsign test",
		Version:    7,
		IssuedAt:   testNow,
		NextUpdate: testNow.Add(7 * 24 * time.Hour),
		Archives: []revocation.RevokedArchive{{
			SHA256: "aa" + repeat("0", 62), Reason: revocation.ReasonMalicious, RevokedAt: testNow.Add(-time.Hour), LedgerEntryID: 42,
		}},
		Certificates: []revocation.RevokedCertificate{{
			Issuer: "CN=test marketplace CA,O=signer", Serial: "0a1b", EffectiveFrom: testNow.Add(-24 * time.Hour), Reason: revocation.ReasonKeyCompromise,
		}},
		Keys: []revocation.RevokedKey{{
			Fingerprint: "bb" + repeat("1", 62), EffectiveFrom: testNow.Add(-48 * time.Hour), Reason: revocation.ReasonSuperseded,
		}},
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

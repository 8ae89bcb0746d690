package bundle_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
)

// TestInstallReadsTheStoreAsTheVerifierDoes: bundle reads trust-store files
// with chain's strict PEM parser, the one chain.LoadTrustStore uses. A file
// with text before its certificate (an expired custom-app certificate
// pasted with OpenSSL's "subject=" line) is one the verifier refuses; Install
// must say so and leave it alone, not count its certificate as trusted or
// remove it as expired.
func TestInstallReadsTheStoreAsTheVerifierDoes(t *testing.T) {
	f := newFixture(t, testNow)
	store := storeDir(t)
	installed(t, f, f.bundle(1), store, testNow)
	makeWritable(store)
	expired := f.intermediate(t, "test old custom", testNow.Add(-3*365*24*time.Hour), 365*24*time.Hour)
	custom := filepath.Join(store, "custom.pem")
	overwrite(t, custom, append([]byte("subject=CN = test old custom\n"), chain.CertificatePEM(expired)...))
	if _, err := chain.LoadTrustStore(store); !errors.Is(err, chain.ErrMalformed) {
		t.Fatalf("LoadTrustStore = %v, want ErrMalformed for custom.pem", err)
	}

	plan := installed(t, f, f.bundle(2), store, testNow)
	if !slices.ContainsFunc(plan.Warnings, func(w string) bool { return strings.HasPrefix(w, "custom.pem: not a PEM certificate file") }) {
		t.Errorf("warnings %q do not name custom.pem as unreadable", plan.Warnings)
	}
	for _, c := range plan.Remove {
		if c.File == "custom.pem" {
			t.Errorf("plan removes custom.pem (%s), a file it could not read", c.Note)
		}
	}
	if _, err := os.Stat(custom); err != nil {
		t.Errorf("custom.pem after install: %v", err)
	}
}

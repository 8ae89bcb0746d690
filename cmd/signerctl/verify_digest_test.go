package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/statement"
)

// TestVerifyDigestProfile: a digest-v1 signature file verifies the archive
// through its signed statement; an archive that differs from the statement,
// or a statement file cut short, fails with its own exit status.
func TestVerifyDigestProfile(t *testing.T) {
	f := newRevocationFixture(t)
	interKey := readPKCS8(t, filepath.Join(f.dir, "dev", "keys", "marketplace-ca.key"))
	cert, err := chain.NewSigningCertificate(rand.Reader, f.pki.Intermediate, interKey, f.signer.Public(), "digest signer", f.now.Add(-time.Minute), time.Hour)
	must(t, err)
	archive, err := os.ReadFile(f.archive)
	must(t, err)
	s256, s512 := sha256.Sum256(archive), sha512.Sum512(archive)
	st := statement.Statement{AppKey: "com.acme.app", Version: "1.0.0", Track: statement.TrackMarketplace, ArchiveSize: int64(len(archive)),
		SHA256: s256[:], SHA512: s512[:], SignedAt: f.now.Add(-time.Minute).UTC().Truncate(time.Microsecond), KeyID: "digest", KeyVersion: 1}
	df, err := statement.SignFile(t.Context(), f.signer, st, chain.CertificatePEM(cert))
	must(t, err)
	b, err := df.Marshal()
	must(t, err)
	sig := filepath.Join(f.dir, "digest.sig")
	must(t, os.WriteFile(sig, b, 0o644))
	other := filepath.Join(f.dir, "other.jar")
	must(t, os.WriteFile(other, append(archive[:len(archive)-1:len(archive)-1], archive[len(archive)-1]^1), 0o644))
	cut := filepath.Join(f.dir, "cut.sig")
	must(t, os.WriteFile(cut, b[:len(b)-2], 0o644))

	tests := []struct {
		name, sig, archive string
		wantExit           int
		wantCause          string
	}{
		{"the archive stated", sig, f.archive, exitOK, ""},
		{"another archive of the same size", sig, other, exitBadSig, "bad-signature"},
		{"statement file cut short", cut, f.archive, exitMalformed, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, code := verifyJSONOutcome(t, "--truststore", f.truststore, "--signature", tt.sig, tt.archive)
			if code != tt.wantExit || o.Cause != tt.wantCause {
				t.Fatalf("exit %d cause %q, want %d %q", code, o.Cause, tt.wantExit, tt.wantCause)
			}
			if code == exitOK && (o.Origin != chain.OriginMarketplace || !o.Valid) {
				t.Errorf("origin %q valid %v, want a valid marketplace signature", o.Origin, o.Valid)
			}
		})
	}
}

// TestBulkVerifyCountsPolicyAcceptance: under marketplace=warn the revoked
// archives of a folder are accepted by policy, counted apart from the
// valid ones, and the run exits 0; a bad --stale is a usage error there too.
func TestBulkVerifyCountsPolicyAcceptance(t *testing.T) {
	f := newBulkFixture(t, 4, 0)
	out, code := runVerifyCommand(t, "--truststore", f.truststore, "--dir", f.dir, "--output", "json", "--policy", "marketplace=warn")
	if _, sum := parseBulk(t, out); code != exitOK || sum.Valid != len(f.pre) || sum.Accepted != len(f.post) || sum.Failed != 0 {
		t.Errorf("exit %d, summary %+v; want exit 0, %d valid, %d accepted by policy", code, sum, len(f.pre), len(f.post))
	}
	if _, code := runVerifyCommand(t, "--truststore", f.truststore, "--dir", f.dir, "--stale", "never"); code != exitUsage {
		t.Errorf("--stale never: exit %d, want %d", code, exitUsage)
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/revocation"
)

// revocationFixture is a customer trust store (dev PKI), one archive with
// its UPM signature file, and a revocation signer certified by the dev
// root, whose lists the test installs in the trust store or passes with
// --revocation-list.
type revocationFixture struct {
	dir, truststore, archive string
	pki                      *chain.DevPKI
	signature, sha256        []byte
	keyFP                    string
	signer                   kms.Signer
	signerCert               *x509.Certificate
	now                      time.Time
}

func newRevocationFixture(t *testing.T) *revocationFixture {
	t.Helper()
	dir := t.TempDir()
	f := &revocationFixture{dir: dir, truststore: filepath.Join(dir, "truststore"), archive: filepath.Join(dir, "app.jar"), now: time.Now()}
	var err error
	f.pki, err = chain.EnsureDevPKI(rand.Reader, filepath.Join(dir, "dev"), f.now)
	must(t, err)
	must(t, chain.WriteTrustStore(f.truststore, chain.BundleFor([]*x509.Certificate{f.pki.Root}, []*x509.Certificate{f.pki.Intermediate})))
	archive := make([]byte, 4<<10)
	_, _ = rand.Read(archive)
	must(t, os.WriteFile(f.archive, archive, 0o644))
	f.signature = ed25519.Sign(f.pki.SigningKey, archive)
	sum := sha256.Sum256(archive)
	f.sha256 = sum[:]
	b, err := chain.SignatureFile{Signature: f.signature, Certificate: chain.CertificatePEM(f.pki.Signing)}.Marshal()
	must(t, err)
	must(t, os.WriteFile(f.archive+".sig", b, 0o644))
	fp := sha256.Sum256(f.pki.Signing.RawSubjectPublicKeyInfo)
	f.keyFP = fmt.Sprintf("%x", fp)

	backend := softkms.New(softkms.Options{Dir: filepath.Join(dir, "keys")})
	uri, err := backend.CreateKey(t.Context(), kms.CreateKeyRequest{Name: "revocation-signer"})
	must(t, err)
	f.signer, err = backend.LoadSigner(t.Context(), uri)
	must(t, err)
	t.Cleanup(func() { _ = f.signer.Close() })
	rootKey := readPKCS8(t, filepath.Join(dir, "dev", "keys", "root-ca.key"))
	f.signerCert, err = revocation.NewSignerCertificate(rand.Reader, f.pki.Root, rootKey, f.signer.Public(), "test revocation signer",
		revocation.RevocationSigningPolicy(), f.now.Add(-time.Minute), time.Hour)
	must(t, err)
	return f
}

// list signs a revocation list of the given version; stale lists had their
// next update an hour ago.
func (f *revocationFixture) list(t *testing.T, version uint64, stale bool, in revocation.Input) []byte {
	t.Helper()
	in.Issuer, in.Version = "test", version
	in.IssuedAt, in.NextUpdate = f.now.Add(-2*time.Hour), f.now.Add(time.Hour)
	if stale {
		in.NextUpdate = f.now.Add(-time.Hour)
	}
	l, err := revocation.Build(in)
	must(t, err)
	b, err := revocation.Sign(t.Context(), l, f.signer, f.signerCert)
	must(t, err)
	return b
}

// install puts a list where bundle install does.
func (f *revocationFixture) install(t *testing.T, b []byte) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Join(f.truststore, ".revocation"), 0o755))
	must(t, os.WriteFile(filepath.Join(f.truststore, ".revocation", "revocation.json"), b, 0o444))
}

// extra writes a list for --revocation-list and returns its path.
func (f *revocationFixture) extra(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	must(t, os.WriteFile(p, b, 0o644))
	return p
}

// keyRevokedFrom revokes the signing key from at (not an exact entry: the
// signing time decides).
func (f *revocationFixture) keyRevokedFrom(at time.Time) revocation.Input {
	return revocation.Input{Keys: []revocation.RevokedKey{{Fingerprint: f.keyFP, EffectiveFrom: at, Reason: revocation.ReasonKeyCompromise}}}
}

// verifyOutcome is the part of verify's JSON report the tests decide on.
type verifyOutcome struct {
	Valid    bool     `json:"valid"`
	Accepted bool     `json:"accepted"`
	Origin   string   `json:"origin"`
	Cause    string   `json:"cause"`
	ExitCode int      `json:"exit_code"`
	Warnings []string `json:"warnings"`
	Revoked  *struct {
		Kind string `json:"kind"`
	} `json:"revoked"`
}

// verifyJSONOutcome runs verify --output json and returns its report and
// exit status (the report's exit_code must agree with it).
func verifyJSONOutcome(t *testing.T, args ...string) (verifyOutcome, int) {
	t.Helper()
	out, code := runVerifyCommand(t, append([]string{"--output", "json"}, args...)...)
	var o verifyOutcome
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		t.Fatalf("verify %v: exit %d, output not one JSON object: %v: %q", args, code, err, out)
	}
	if o.ExitCode != code {
		t.Fatalf("verify %v: exit %d but the report says exit_code %d", args, code, o.ExitCode)
	}
	return o, code
}

// TestVerifyRevocationDecision: the revocation list a customer installed
// (or passes, newer) decides, whoever wrote the signature file: a revoked
// key, certificate or archive fails with exit 8 and names what was revoked;
// a list that cannot be trusted (forged, signed by a stranger, older than
// the installed one, stale under --stale fail) fails closed.
func TestVerifyRevocationDecision(t *testing.T) {
	f := newRevocationFixture(t)
	revokedKey := f.keyRevokedFrom(f.now.Add(-time.Hour))
	notRevoked := revocation.Input{Archives: []revocation.RevokedArchive{{SHA256: fmt.Sprintf("%x", sha256.Sum256([]byte("another app"))), RevokedAt: f.now.Add(-time.Hour), Reason: revocation.ReasonKeyCompromise}}}

	forged := f.list(t, 9, false, notRevoked)
	forged[len(forged)/2] ^= 1
	stranger := newRevocationFixture(t) // its own dev root: not in f's trust store
	strangers := stranger.list(t, 9, false, notRevoked)

	tests := []struct {
		name       string
		installed  []byte   // nil: no list installed
		extra      []byte   // --revocation-list, when set
		args       []string // more flags
		wantExit   int
		wantRevoke string // the revoked entry's kind, or ""
		wantWarn   bool
	}{
		{"no list", nil, nil, nil, exitOK, "", true},
		{"list revokes another archive", f.list(t, 1, false, notRevoked), nil, nil, exitOK, "", false},
		{"key revoked, no signing time", f.list(t, 1, false, revokedKey), nil, nil, exitRevoked, "key", false},
		{"key revoked, marketplace=warn", f.list(t, 1, false, revokedKey), nil, []string{"--policy", "marketplace=warn"}, exitOK, "key", false},
		{"key revoked only from tomorrow, no signing time", f.list(t, 1, false, f.keyRevokedFrom(f.now.Add(24*time.Hour))), nil, nil, exitRevoked, "key", false},
		{"archive revoked", f.list(t, 1, false, revocation.Input{Archives: []revocation.RevokedArchive{{SHA256: fmt.Sprintf("%x", f.sha256), RevokedAt: f.now.Add(-time.Hour), Reason: revocation.ReasonKeyCompromise}}}), nil, nil, exitRevoked, "archive", false},
		{"intermediate CA revoked", f.list(t, 1, false, revocation.Input{Certificates: []revocation.RevokedCertificate{{
			Issuer: f.pki.Intermediate.Issuer.String(), Serial: fmt.Sprintf("%x", f.pki.Intermediate.SerialNumber), EffectiveFrom: f.now.Add(-time.Hour), Reason: revocation.ReasonKeyCompromise}}}), nil, nil, exitRevoked, "certificate", false},
		{"stale list, --stale warn", f.list(t, 1, true, notRevoked), nil, nil, exitOK, "", true},
		{"stale list, --stale fail", f.list(t, 1, true, notRevoked), nil, []string{"--stale", "fail"}, exitRevoked, "", false},
		{"stale list revoking the key, --stale warn", f.list(t, 1, true, revokedKey), nil, nil, exitRevoked, "key", true},
		{"forged installed list", forged, nil, nil, exitRevoked, "", false},
		{"installed list signed by a stranger", strangers, nil, nil, exitRevoked, "", false},
		{"newer list passed clears the key", f.list(t, 1, false, revokedKey), f.list(t, 2, false, notRevoked), nil, exitOK, "", false},
		{"newer list passed revokes the key", f.list(t, 1, false, notRevoked), f.list(t, 2, false, revokedKey), nil, exitRevoked, "key", false},
		{"passed list without an installed one", nil, f.list(t, 1, false, revokedKey), nil, exitRevoked, "key", false},
		{"older list passed (rollback)", f.list(t, 5, false, revokedKey), f.list(t, 4, false, notRevoked), nil, exitRevoked, "", false},
		{"forged list passed", f.list(t, 1, false, notRevoked), forged, nil, exitRevoked, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_ = os.RemoveAll(filepath.Join(f.truststore, ".revocation"))
			if tt.installed != nil {
				f.install(t, tt.installed)
			}
			args := append([]string{"--truststore", f.truststore}, tt.args...)
			if tt.extra != nil {
				args = append(args, "--revocation-list", f.extra(t, "extra.json", tt.extra))
			}
			o, code := verifyJSONOutcome(t, append(args, f.archive)...)
			if code != tt.wantExit {
				t.Fatalf("exit %d (cause %q), want %d", code, o.Cause, tt.wantExit)
			}
			if kind := revokedKind(o); kind != tt.wantRevoke {
				t.Errorf("revoked %q, want %q", kind, tt.wantRevoke)
			}
			if tt.wantExit == exitRevoked && (o.Cause != "revoked" || o.Accepted) {
				t.Errorf("cause %q accepted %v, want revoked, not accepted", o.Cause, o.Accepted)
			}
			if got := len(o.Warnings) > 0; got != tt.wantWarn {
				t.Errorf("warnings %q, want some: %v", o.Warnings, tt.wantWarn)
			}
		})
	}
}

func revokedKind(o verifyOutcome) string {
	if o.Revoked == nil {
		return ""
	}
	return o.Revoked.Kind
}

// entryLedger serves GetEntry from a fixed set of entries, as the ledger
// of a server would; any other id is NotFound.
type entryLedger struct {
	signerv1.UnimplementedLedgerServiceServer
	entries map[int64]*signerv1.LedgerEntry
}

func (l *entryLedger) GetEntry(_ context.Context, req *signerv1.GetEntryRequest) (*signerv1.GetEntryResponse, error) {
	e, ok := l.entries[req.GetId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no ledger entry %d", req.GetId())
	}
	return &signerv1.GetEntryResponse{Entry: e}, nil
}

// serveLedger serves srv on a loopback port and returns its address.
func serveLedger(t *testing.T, srv signerv1.LedgerServiceServer) string {
	t.Helper()
	g := grpc.NewServer()
	signerv1.RegisterLedgerServiceServer(g, srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	return lis.Addr().String()
}

// TestVerifyLedgerEntryBinding: with --ledger-entry, the signing time that
// decides a key revocation comes from the ledger, and only from the entry
// that recorded this very signature over this very archive. Whoever runs
// verify chooses the entry id: naming an early entry of the same key (or
// an entry of the same archive with another signature, or of the same
// signature over another archive) must not date a signature made after
// the revocation.
func TestVerifyLedgerEntryBinding(t *testing.T) {
	f := newRevocationFixture(t)
	revokedAt := f.now.Add(-time.Hour)
	f.install(t, f.list(t, 1, false, f.keyRevokedFrom(revokedAt)))
	entry := func(id int64, sig, sum []byte, at time.Time) *signerv1.LedgerEntry {
		return &signerv1.LedgerEntry{Id: id, Signature: sig, Sha256: sum, SignedAt: timestamppb.New(at)}
	}
	otherSig := ed25519.Sign(f.pki.SigningKey, []byte("an earlier app"))
	otherSum := sha256.Sum256([]byte("an earlier app"))
	addr := serveLedger(t, &entryLedger{entries: map[int64]*signerv1.LedgerEntry{
		1: entry(1, f.signature, f.sha256, revokedAt.Add(-time.Minute)),     // this signature, before the revocation
		2: entry(2, f.signature, f.sha256, revokedAt),                       // at the effective time: revoked
		3: entry(3, otherSig, otherSum[:], revokedAt.Add(-24*time.Hour)),    // another archive's entry, early
		4: entry(4, otherSig, f.sha256, revokedAt.Add(-24*time.Hour)),       // this archive, another signature
		5: entry(5, f.signature, otherSum[:], revokedAt.Add(-24*time.Hour)), // this signature, another archive
	}})
	t.Setenv("SIGNER_SERVER", "")
	// A plaintext loopback connection, whatever the environment holds.
	for _, v := range []string{"SIGNER_TLS_CA", "SIGNER_TLS_CERT", "SIGNER_TLS_KEY", "SIGNER_SERVER_NAME"} {
		t.Setenv(v, "")
	}
	tests := []struct {
		name     string
		entry    int64
		wantExit int
	}{
		{"entry before the revocation", 1, exitOK},
		{"entry at the revocation", 2, exitRevoked},
		{"another archive's earlier entry", 3, exitError},
		{"entry with another signature", 4, exitError},
		{"entry of another archive", 5, exitError},
		{"no such entry", 99, exitError},
		{"no entry: time unknown", 0, exitRevoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, code := verifyJSONOutcome(t, "--truststore", f.truststore, "--server", addr, "--ledger-entry", fmt.Sprint(tt.entry), f.archive)
			if code != tt.wantExit || o.Accepted != (tt.wantExit == exitOK) {
				t.Fatalf("exit %d accepted %v (cause %q), want exit %d", code, o.Accepted, o.Cause, tt.wantExit)
			}
			if tt.wantExit == exitRevoked && revokedKind(o) != "key" {
				t.Errorf("revoked %q, want key", revokedKind(o))
			}
		})
	}
	t.Run("entry without a server", func(t *testing.T) {
		if _, code := runVerifyCommand(t, "--truststore", f.truststore, "--ledger-entry", "1", f.archive); code != exitUsage {
			t.Errorf("exit %d, want %d (usage)", code, exitUsage)
		}
	})
}

// TestVerifyUsageAndInputs: flags verify cannot act on are usage errors
// (exit 2) before anything is read; a signature file over the size limit
// is malformed (exit 6); without --signature, ARCHIVE.sig is verified.
func TestVerifyUsageAndInputs(t *testing.T) {
	f := newRevocationFixture(t)
	t.Setenv("SIGNER_SERVER", "")
	for _, args := range [][]string{
		{f.archive},
		{"--truststore", f.truststore, "--output", "yaml", f.archive},
		{"--truststore", f.truststore, "--stale", "ignore", f.archive},
		{"--truststore", f.truststore, "--policy", "marketplace=maybe", f.archive},
		{"--truststore", f.truststore, "--grace-until", "tomorrow", f.archive},
	} {
		// Through Run: cobra's own flag checks become exit statuses there.
		var stdout, stderr bytes.Buffer
		if code := Run(t.Context(), append([]string{"verify"}, args...), &stdout, &stderr); code != exitUsage {
			t.Errorf("verify %v: exit %d, want %d (usage)", args, code, exitUsage)
		}
	}
	if o, code := verifyJSONOutcome(t, "--truststore", f.truststore, f.archive); code != exitOK || !o.Valid || o.Origin != chain.OriginMarketplace {
		t.Errorf("default signature file: exit %d valid %v origin %q, want 0, valid, marketplace", code, o.Valid, o.Origin)
	}
	big := filepath.Join(f.dir, "big.sig")
	b, err := os.ReadFile(f.archive + ".sig")
	must(t, err)
	must(t, os.WriteFile(big, append(b, make([]byte, maxSignatureFile+1-len(b))...), 0o644))
	if o, code := verifyJSONOutcome(t, "--truststore", f.truststore, "--signature", big, f.archive); code != exitMalformed || o.Cause != "malformed" {
		t.Errorf("signature file of %d bytes: exit %d cause %q, want %d malformed", maxSignatureFile+1, code, o.Cause, exitMalformed)
	}
	// The limit itself is allowed: JSON whitespace before the closing brace
	// pads the file to it, so the brace is its very last byte.
	obj := bytes.TrimRight(b, "\n")
	padded := append(append(bytes.Clone(obj[:len(obj)-1]), bytes.Repeat([]byte(" "), maxSignatureFile-len(obj))...), '}')
	must(t, os.WriteFile(big, padded, 0o644))
	if _, code := verifyJSONOutcome(t, "--truststore", f.truststore, "--signature", big, f.archive); code != exitOK {
		t.Errorf("signature file of exactly %d bytes: exit %d, want 0", maxSignatureFile, code)
	}
	must(t, os.WriteFile(big, b[:len(b)-1], 0o644)) // a JSON object cut short: still malformed
	if _, code := verifyJSONOutcome(t, "--truststore", f.truststore, "--signature", big, f.archive); code != exitMalformed {
		t.Errorf("truncated signature file: exit %d, want %d", code, exitMalformed)
	}
}

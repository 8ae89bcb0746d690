package revocation_test

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/revocation"
)

// These tests pin the edges of the list format and of the trust-metadata
// signer rules: the places where an off-by-one or a dropped check would
// let a crafted list or certificate through (found by `make mutate`).

// envelopeOf wraps a hand-written list payload in an envelope with a
// dummy signature: Parse checks the form, never the signature.
func envelopeOf(t *testing.T, payload string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string][]byte{"list": []byte(payload), "signature": make([]byte, 64)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	fpA = "aa00000000000000000000000000000000000000000000000000000000000000"
	fpB = "bb00000000000000000000000000000000000000000000000000000000000000"
)

// TestParseRejectsUnsortedOrRepeatedEntries: whoever hand-writes a list
// (or a bug in another producer) cannot make one list mean two things by
// repeating or reordering entries; only the canonical order parses.
func TestParseRejectsUnsortedOrRepeatedEntries(t *testing.T) {
	const head = `{"format":"appsign.dev/revocation-list/v1","issuer":"t","version":1,"issued_at":"2026-03-01T12:00:00.000000Z","next_update":"2026-03-02T12:00:00.000000Z","archives":[],`
	cert := func(issuer, serial string) string {
		return `{"issuer":"` + issuer + `","serial":"` + serial + `","effective_from":"2026-03-01T00:00:00.000000Z","reason":"superseded"}`
	}
	key := func(fp string) string {
		return `{"fingerprint":"` + fp + `","effective_from":"2026-03-01T00:00:00.000000Z","reason":"key-compromise"}`
	}
	tests := []struct {
		name       string
		certs      []string
		keys       []string
		wantParsed bool
	}{
		{"two keys in order", nil, []string{key(fpA), key(fpB)}, true},
		{"two keys out of order", nil, []string{key(fpB), key(fpA)}, false},
		{"the same key twice", nil, []string{key(fpA), key(fpA)}, false},
		{"two certificates in order", []string{cert("CN=a", "01"), cert("CN=a", "02")}, nil, true},
		{"two certificates out of order", []string{cert("CN=b", "01"), cert("CN=a", "01")}, nil, false},
		{"the same certificate twice", []string{cert("CN=a", "01"), cert("CN=a", "01")}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := head + `"certificates":[` + strings.Join(tt.certs, ",") + `],"keys":[` + strings.Join(tt.keys, ",") + `]}`
			s, err := revocation.Parse(envelopeOf(t, payload))
			switch {
			case tt.wantParsed && err != nil:
				t.Fatalf("Parse: %v", err)
			case tt.wantParsed && len(s.List.Keys)+len(s.List.Certificates) != 2:
				t.Fatalf("Parse kept %d keys and %d certificates, want 2 entries", len(s.List.Keys), len(s.List.Certificates))
			case !tt.wantParsed && (!errors.Is(err, revocation.ErrMalformed) || s != nil):
				t.Fatalf("Parse = %v, %v; want ErrMalformed", s, err)
			}
		})
	}
}

func TestParseSizeLimit(t *testing.T) {
	key := newSigner(t)
	_, b := signSample(t, key, nil)
	pad := func(n int) []byte { // the envelope followed by whitespace, n bytes in all
		return append(bytes.Clone(b), bytes.Repeat([]byte(" "), n-len(b))...)
	}
	if _, err := revocation.Parse(pad(revocation.MaxSize)); err != nil {
		t.Errorf("Parse of exactly MaxSize bytes: %v", err)
	}
	if _, err := revocation.Parse(pad(revocation.MaxSize + 1)); !errors.Is(err, revocation.ErrMalformed) {
		t.Errorf("Parse of MaxSize+1 bytes = %v, want ErrMalformed", err)
	}
}

func TestParseSerialLength(t *testing.T) {
	tests := []struct {
		name   string
		serial string
		ok     bool
	}{
		{"20 octets", "7f" + strings.Repeat("ab", 19), true},
		{"20 octets with leading zeros", "0000" + "7f" + strings.Repeat("ab", 19), true},
		{"21 octets", "01" + strings.Repeat("ab", 20), false},
		{"zero", "00", false},
		{"negative", "-1", false},
		{"explicit plus", "+1", false},
		{"not hex", "xyz", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := revocation.ParseSerial(tt.serial)
			if tt.ok != (err == nil) || tt.ok != (n != nil) {
				t.Fatalf("ParseSerial(%q) = %v, %v; want ok %v", tt.serial, n, err, tt.ok)
			}
			if tt.name == "21 octets" && !strings.Contains(err.Error(), "20 octets") {
				t.Errorf("error %q does not say the limit is 20 octets", err)
			}
		})
	}
}

// TestBuildRejectsOutOfRange: limits Build enforces on what the list
// says (what an operator typed, or a database row it was built from).
func TestBuildRejectsOutOfRange(t *testing.T) {
	base := func() revocation.Input {
		return revocation.Input{Issuer: "t", Version: 1, IssuedAt: testNow, NextUpdate: testNow.Add(time.Hour)}
	}
	tests := []struct {
		name   string
		mutate func(*revocation.Input)
		ok     bool
	}{
		{"issuer of 256 bytes", func(in *revocation.Input) { in.Issuer = strings.Repeat("i", 256) }, true},
		{"issuer of 257 bytes", func(in *revocation.Input) { in.Issuer = strings.Repeat("i", 257) }, false},
		{"issuer with a control character", func(in *revocation.Input) { in.Issuer = "a\nb" }, false},
		{"issuer starting with a control character", func(in *revocation.Input) { in.Issuer = "\tab" }, false},
		{"issuer not UTF-8", func(in *revocation.Input) { in.Issuer = "a\xffb" }, false},
		{"certificate issuer of 1025 bytes", func(in *revocation.Input) {
			in.Certificates = []revocation.RevokedCertificate{{Issuer: strings.Repeat("c", 1025), Serial: "01", EffectiveFrom: testNow, Reason: revocation.ReasonSuperseded}}
		}, false},
		{"year 9999", func(in *revocation.Input) {
			in.IssuedAt = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
			in.NextUpdate = in.IssuedAt.Add(time.Hour)
		}, true},
		{"year 10000", func(in *revocation.Input) {
			in.IssuedAt = time.Date(9999, 12, 31, 23, 0, 0, 0, time.UTC)
			in.NextUpdate = in.IssuedAt.Add(2 * time.Hour)
		}, false},
		{"no issued-at", func(in *revocation.Input) { in.IssuedAt = time.Time{} }, false},
		{"year 1", func(in *revocation.Input) {
			in.IssuedAt = time.Date(1, 2, 1, 0, 0, 0, 0, time.UTC)
			in.NextUpdate = in.IssuedAt.Add(time.Hour)
		}, true},
		{"year 0", func(in *revocation.Input) { in.IssuedAt = time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			tt.mutate(&in)
			l, err := revocation.Build(in)
			if tt.ok {
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				if _, err := l.Marshal(); err != nil {
					t.Fatalf("Marshal of a built list: %v", err)
				}
				return
			}
			if !errors.Is(err, revocation.ErrInvalidList) || l != nil {
				t.Fatalf("Build = %v, %v; want ErrInvalidList", l, err)
			}
		})
	}
}

func TestRevokedErrorText(t *testing.T) {
	tests := []struct {
		name string
		e    revocation.RevokedError
		want string
	}{
		{"archive with ledger entry and why",
			revocation.RevokedError{Kind: "archive", Entry: "ab12", Reason: revocation.ReasonMalicious, LedgerEntryID: 42, Why: "revoked whenever signed"},
			"archive ab12 " + revocation.ErrRevoked.Error() + " (malicious), ledger entry 42: revoked whenever signed"},
		{"key without ledger entry or why",
			revocation.RevokedError{Kind: "key", Entry: fpA, Reason: revocation.ReasonKeyCompromise},
			"key " + fpA + " " + revocation.ErrRevoked.Error() + " (key-compromise)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCheckUnrecognizedTimeSource: a signing time whose source the checker
// does not know (a newer producer, or a caller's bug) proves nothing, so a
// signature from before the effective time is still revoked.
func TestCheckUnrecognizedTimeSource(t *testing.T) {
	l, err := revocation.Build(revocation.Input{
		Issuer: "t", Version: 1, IssuedAt: testNow, NextUpdate: testNow.Add(time.Hour),
		Keys: []revocation.RevokedKey{{Fingerprint: fpA, EffectiveFrom: testNow, Reason: revocation.ReasonSuperseded}},
	})
	if err != nil {
		t.Fatal(err)
	}
	chainRef := []revocation.CertRef{{Issuer: "CN=x", Serial: "01", KeyFingerprint: fpA}}
	for _, src := range []revocation.TimeSource{revocation.TimeSource(99), revocation.TimeSource(-1)} {
		err := revocation.Check(l, revocation.Query{Chain: chainRef, SignedAt: testNow.Add(-year), SignedAtSource: src})
		var re *revocation.RevokedError
		if !errors.As(err, &re) || !strings.Contains(re.Why, "source is unknown") {
			t.Errorf("source %d: Check = %v, want revoked because the time's source is unknown", src, err)
		}
	}
	// The same time from the ledger keeps the signature valid.
	if err := revocation.Check(l, revocation.Query{Chain: chainRef, SignedAt: testNow.Add(-year), SignedAtSource: revocation.TimeFromLedger}); err != nil {
		t.Errorf("Check with a ledger time before the revocation = %v, want nil", err)
	}
}

func TestBuildCRLRejectsBadRequests(t *testing.T) {
	p := newPKI(t, testNow)
	entry := func(serial int64) []revocation.CRLEntry {
		return []revocation.CRLEntry{{Serial: big.NewInt(serial), RevokedAt: testNow, Reason: revocation.ReasonSuperseded}}
	}
	// A CA certificate for the root's key that may sign certificates but not CRLs.
	noCRLSign := &x509.Certificate{
		SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "no crl"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(year),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, noCRLSign, noCRLSign, p.rootKey.Public(), kms.CryptoSigner(t.Context(), p.rootKey))
	if err != nil {
		t.Fatal(err)
	}
	noCRLSignCert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		issuer     *x509.Certificate
		signer     kms.Signer
		number     *big.Int
		entries    []revocation.CRLEntry
		this, next time.Time
		ok         bool
	}{
		{"valid", p.root, p.rootKey, big.NewInt(1), entry(5), testNow, testNow.Add(time.Hour), true},
		{"no issuer", nil, p.rootKey, big.NewInt(1), nil, testNow, testNow.Add(time.Hour), false},
		{"no key", p.root, nil, big.NewInt(1), nil, testNow, testNow.Add(time.Hour), false},
		{"CA without cRLSign", noCRLSignCert, p.rootKey, big.NewInt(1), nil, testNow, testNow.Add(time.Hour), false},
		{"CRL number zero", p.root, p.rootKey, big.NewInt(0), nil, testNow, testNow.Add(time.Hour), false},
		{"CRL number negative", p.root, p.rootKey, big.NewInt(-1), nil, testNow, testNow.Add(time.Hour), false},
		{"no this-update", p.root, p.rootKey, big.NewInt(1), nil, time.Time{}, testNow.Add(time.Hour), false},
		{"next-update equal to this-update", p.root, p.rootKey, big.NewInt(1), nil, testNow, testNow, false},
		{"entry with serial zero", p.root, p.rootKey, big.NewInt(1), entry(0), testNow, testNow.Add(time.Hour), false},
		{"entry with a negative serial", p.root, p.rootKey, big.NewInt(1), entry(-3), testNow, testNow.Add(time.Hour), false},
		{"entry without serial", p.root, p.rootKey, big.NewInt(1), []revocation.CRLEntry{{RevokedAt: testNow, Reason: revocation.ReasonSuperseded}}, testNow, testNow.Add(time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := revocation.BuildCRL(t.Context(), tt.issuer, tt.signer, tt.number, tt.entries, tt.this, tt.next)
			if tt.ok {
				if err != nil {
					t.Fatalf("BuildCRL: %v", err)
				}
				if _, err := x509.ParseRevocationList(der); err != nil {
					t.Fatalf("the CRL does not parse: %v", err)
				}
				return
			}
			if !errors.Is(err, revocation.ErrInvalidList) || der != nil {
				t.Fatalf("BuildCRL = %d bytes, %v; want ErrInvalidList", len(der), err)
			}
		})
	}
}

func TestNewSignerCertificateRejectsBadRequests(t *testing.T) {
	p := newPKI(t, testNow)
	key := newSigner(t)
	rootCS := kms.CryptoSigner(t.Context(), p.rootKey)
	leaf := p.leaf(t, testNow)
	tests := []struct {
		name      string
		parent    *x509.Certificate
		parentKey kms.Signer
		pub       []byte
		cn        string
		now       time.Time
		validity  time.Duration
	}{
		{"no parent", nil, p.rootKey, key.Public(), "s", testNow, year},
		{"no parent key", p.root, nil, key.Public(), "s", testNow, year},
		{"parent is not a CA", leaf, p.rootKey, key.Public(), "s", testNow, year},
		{"subject key not Ed25519", p.root, p.rootKey, key.Public()[:31], "s", testNow, year},
		{"empty name", p.root, p.rootKey, key.Public(), "", testNow, year},
		{"zero validity", p.root, p.rootKey, key.Public(), "s", testNow, 0},
		{"negative validity", p.root, p.rootKey, key.Public(), "s", testNow, -time.Hour},
		{"zero time", p.root, p.rootKey, key.Public(), "s", time.Time{}, year},
		{"key of another CA", p.root, p.interKey, key.Public(), "s", testNow, year},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cs = rootCS
			if tt.parentKey == nil {
				cs = nil
			} else if tt.parentKey != p.rootKey {
				cs = kms.CryptoSigner(t.Context(), tt.parentKey)
			}
			cert, err := revocation.NewSignerCertificate(rand.Reader, tt.parent, cs, tt.pub, tt.cn, revocation.RevocationSigningPolicy(), tt.now, tt.validity)
			if err == nil || cert != nil {
				t.Fatalf("NewSignerCertificate = %v, %v; want an error", cert, err)
			}
		})
	}
}

// TestSignerCertificateValidity: a fresh signer certificate is valid from
// five minutes before it was issued (clock skew between the issuing host
// and the verifiers) and never outlives its issuer.
func TestSignerCertificateValidity(t *testing.T) {
	p := newPKI(t, testNow)
	key := newSigner(t)
	cert := signerCert(t, p.root, p.rootKey, key, revocation.RevocationSigningPolicy(), testNow, year)
	if want := testNow.Add(-5 * time.Minute); !cert.NotBefore.Equal(want) {
		t.Errorf("NotBefore = %s, want %s", cert.NotBefore, want)
	}
	if _, err := revocation.VerifySignerCertificate(cert, revocation.RevocationSigningPolicy(), []*x509.Certificate{p.root}, nil, testNow.Add(-4*time.Minute)); err != nil {
		t.Errorf("VerifySignerCertificate 4 minutes before issuance: %v", err)
	}
	long := signerCert(t, p.root, p.rootKey, key, revocation.RevocationSigningPolicy(), testNow, 100*year)
	if !long.NotAfter.Equal(p.root.NotAfter) {
		t.Errorf("NotAfter = %s, want the root's %s", long.NotAfter, p.root.NotAfter)
	}
}

func TestVerifySignerCertificateRejects(t *testing.T) {
	p := newPKI(t, testNow)
	key := newSigner(t)
	policy := revocation.RevocationSigningPolicy()
	// A certificate with the right policy but no digitalSignature usage.
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: "no digital signature"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(year),
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageContentCommitment,
		Policies: []x509.OID{policy},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.inter, key.Public(), kms.CryptoSigner(t.Context(), p.interKey))
	if err != nil {
		t.Fatal(err)
	}
	noDigSig, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	// A signer certificate that outlives a short-lived intermediate.
	shortKey := newSigner(t)
	shortInter, err := chain.NewIntermediateCA(rand.Reader, p.root, kms.CryptoSigner(t.Context(), p.rootKey), shortKey.Public(), "short CA", testNow, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tmpl2 := &x509.Certificate{
		SerialNumber: big.NewInt(78), Subject: pkix.Name{CommonName: "outliving signer"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(year),
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature,
		Policies: []x509.OID{policy},
	}
	der, err = x509.CreateCertificate(rand.Reader, tmpl2, shortInter, key.Public(), kms.CryptoSigner(t.Context(), shortKey))
	if err != nil {
		t.Fatal(err)
	}
	outliving, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	good := signerCert(t, p.inter, p.interKey, key, policy, testNow, year)

	roots := []*x509.Certificate{p.root}
	tests := []struct {
		name  string
		cert  *x509.Certificate
		inter []*x509.Certificate
		now   time.Time
		want  error // nil: trusted
	}{
		{"valid", good, []*x509.Certificate{p.inter}, testNow, nil},
		{"no digitalSignature key usage", noDigSig, []*x509.Certificate{p.inter}, testNow, revocation.ErrUntrusted},
		{"intermediate expired under a valid signer certificate", outliving, []*x509.Certificate{shortInter}, testNow.Add(48 * time.Hour), revocation.ErrExpired},
		{"outliving signer while the intermediate is valid", outliving, []*x509.Certificate{shortInter}, testNow, nil},
		{"intermediate missing", good, nil, testNow, revocation.ErrUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, err := revocation.VerifySignerCertificate(tt.cert, policy, roots, tt.inter, tt.now)
			if tt.want == nil {
				if err != nil || len(path) != 3 {
					t.Fatalf("VerifySignerCertificate = %d certificates, %v; want a path of 3", len(path), err)
				}
				return
			}
			if !errors.Is(err, tt.want) || path != nil {
				t.Fatalf("VerifySignerCertificate = %v; want %v", err, tt.want)
			}
			for _, other := range []error{revocation.ErrUntrusted, revocation.ErrExpired} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error %v also wraps %v", err, other)
				}
			}
		})
	}
}

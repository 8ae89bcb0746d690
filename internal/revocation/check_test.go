package revocation_test

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/revocation"
)

func TestCheck(t *testing.T) {
	T := testNow.Add(-24 * time.Hour) // effective time of the entries below
	const (
		issuer    = "CN=test marketplace CA,O=signer"
		leafFP    = "11" + "00000000000000000000000000000000000000000000000000000000000000"
		interFP   = "22" + "00000000000000000000000000000000000000000000000000000000000000"
		badSum    = "ab" + "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
		goodSum   = "ef" + "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
		rootIssue = "CN=test root CA,O=signer"
	)
	l, err := revocation.Build(revocation.Input{
		Issuer: "t", Version: 1, IssuedAt: testNow, NextUpdate: testNow.Add(time.Hour),
		Archives: []revocation.RevokedArchive{{SHA256: badSum, Reason: revocation.ReasonMalicious, RevokedAt: testNow, LedgerEntryID: 42}},
		Certificates: []revocation.RevokedCertificate{
			{Issuer: issuer, Serial: "0a1b", EffectiveFrom: T, Reason: revocation.ReasonSuperseded},
			{Issuer: rootIssue, Serial: "77", EffectiveFrom: T, Reason: revocation.ReasonCACompromise},
		},
		Keys: []revocation.RevokedKey{{Fingerprint: leafFP, EffectiveFrom: T, Reason: revocation.ReasonKeyCompromise}},
	})
	if err != nil {
		t.Fatal(err)
	}
	retiredCert := []revocation.CertRef{{Issuer: issuer, Serial: "0A1B"}}
	stolenKey := []revocation.CertRef{{Issuer: issuer, Serial: "99", KeyFingerprint: strings.ToUpper(leafFP)}}
	underBadCA := []revocation.CertRef{{Issuer: "CN=other CA", Serial: "01"}, {Issuer: rootIssue, Serial: "77", KeyFingerprint: interFP}}
	clean := []revocation.CertRef{{Issuer: issuer, Serial: "01", KeyFingerprint: interFP}}

	tests := []struct {
		name     string
		q        revocation.Query
		wantKind string // "" = not revoked
		wantWhy  string
	}{
		{"clean signature", revocation.Query{ArchiveSHA256: goodSum, Chain: clean, SignedAt: testNow, SignedAtSource: revocation.TimeFromLedger}, "", ""},
		{"revoked archive, signed long ago", revocation.Query{ArchiveSHA256: strings.ToUpper(badSum), Chain: clean, SignedAt: T.Add(-year), SignedAtSource: revocation.TimeFromLedger}, "archive", "whenever it was signed"},
		{"certificate: signed before T", revocation.Query{ArchiveSHA256: goodSum, Chain: retiredCert, SignedAt: T.Add(-time.Microsecond), SignedAtSource: revocation.TimeFromLedger}, "", ""},
		{"certificate: signed at T", revocation.Query{ArchiveSHA256: goodSum, Chain: retiredCert, SignedAt: T, SignedAtSource: revocation.TimeFromLedger}, "certificate", "at or after"},
		{"certificate: signed after T", revocation.Query{ArchiveSHA256: goodSum, Chain: retiredCert, SignedAt: T.Add(time.Hour), SignedAtSource: revocation.TimeFromLedger}, "certificate", "at or after"},
		{"certificate: time unknown", revocation.Query{ArchiveSHA256: goodSum, Chain: retiredCert}, "certificate", "signing time is unknown"},
		{"superseded certificate: statement time before T", revocation.Query{ArchiveSHA256: goodSum, Chain: retiredCert, SignedAt: T.Add(-time.Hour), SignedAtSource: revocation.TimeFromStatement}, "", ""},
		{"stolen key: ledger time before T", revocation.Query{ArchiveSHA256: goodSum, Chain: stolenKey, SignedAt: T.Add(-time.Hour), SignedAtSource: revocation.TimeFromLedger}, "", ""},
		{"stolen key: ledger time at T", revocation.Query{ArchiveSHA256: goodSum, Chain: stolenKey, SignedAt: T, SignedAtSource: revocation.TimeFromLedger}, "key", "at or after"},
		{"stolen key: statement time before T", revocation.Query{ArchiveSHA256: goodSum, Chain: stolenKey, SignedAt: T.Add(-time.Hour), SignedAtSource: revocation.TimeFromStatement}, "key", "compromised key"},
		{"compromised CA on the path: after T", revocation.Query{ArchiveSHA256: goodSum, Chain: underBadCA, SignedAt: T.Add(time.Hour), SignedAtSource: revocation.TimeFromLedger}, "certificate", "at or after"},
		{"compromised CA on the path: ledger time before T", revocation.Query{ArchiveSHA256: goodSum, Chain: underBadCA, SignedAt: T.Add(-time.Hour), SignedAtSource: revocation.TimeFromLedger}, "", ""},
		{"time given but source unknown", revocation.Query{ArchiveSHA256: goodSum, Chain: retiredCert, SignedAt: T.Add(-time.Hour)}, "certificate", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := revocation.Check(l, tt.q)
			if tt.wantKind == "" {
				if err != nil {
					t.Fatalf("Check = %v, want not revoked", err)
				}
				return
			}
			var re *revocation.RevokedError
			if !errors.Is(err, revocation.ErrRevoked) || !errors.As(err, &re) {
				t.Fatalf("Check = %v, want a *RevokedError", err)
			}
			if re.Kind != tt.wantKind || !strings.Contains(re.Why, tt.wantWhy) {
				t.Errorf("Check = %v (kind %s), want kind %s saying %q", err, re.Kind, tt.wantKind, tt.wantWhy)
			}
		})
	}
}

func TestCheckNamesTheEntry(t *testing.T) {
	l, err := revocation.Build(sampleInput())
	if err != nil {
		t.Fatal(err)
	}
	err = revocation.Check(l, revocation.Query{ArchiveSHA256: l.Archives[0].SHA256})
	for _, want := range []string{l.Archives[0].SHA256, "malicious", "ledger entry 42"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check error %v does not contain %q", err, want)
		}
	}
}

func TestRefsOfMatchesTheList(t *testing.T) {
	p := newPKI(t, testNow)
	leaf := p.leaf(t, testNow)
	ref := revocation.RefOf(p.inter)
	l, err := revocation.Build(revocation.Input{
		Issuer: "t", Version: 1, IssuedAt: testNow, NextUpdate: testNow.Add(time.Hour),
		Certificates: []revocation.RevokedCertificate{{Issuer: ref.Issuer, Serial: ref.Serial, EffectiveFrom: testNow, Reason: revocation.ReasonCACompromise}},
	})
	if err != nil {
		t.Fatal(err)
	}
	q := revocation.Query{Chain: revocation.RefsOf([]*x509.Certificate{leaf, p.inter, p.root}), SignedAt: testNow, SignedAtSource: revocation.TimeFromLedger}
	if err := revocation.Check(l, q); !errors.Is(err, revocation.ErrRevoked) {
		t.Errorf("Check of a leaf under a revoked intermediate = %v, want ErrRevoked", err)
	}
	if got := revocation.RefOf(leaf).Issuer; got != p.inter.Subject.String() {
		t.Errorf("RefOf(leaf).Issuer = %q, want the intermediate's subject %q", got, p.inter.Subject)
	}
}

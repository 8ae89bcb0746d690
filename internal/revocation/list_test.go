package revocation_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/revocation"
)

func TestBuildNormalizes(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	in := revocation.Input{
		Issuer:     "appsign test",
		Version:    1,
		IssuedAt:   testNow.In(cet).Add(123 * time.Nanosecond),
		NextUpdate: testNow.Add(time.Hour),
		Archives: []revocation.RevokedArchive{
			{SHA256: strings.ToUpper("cc" + repeat("0", 62)), Reason: revocation.ReasonMalicious, RevokedAt: testNow},
			{SHA256: "bb" + repeat("0", 62), Reason: revocation.ReasonVendorRequest, RevokedAt: testNow},
			{SHA256: "cc" + repeat("0", 62), Reason: revocation.ReasonPolicyViolation, RevokedAt: testNow.Add(-time.Hour)},
		},
		Certificates: []revocation.RevokedCertificate{
			{Issuer: "CN=b", Serial: "000A1B", EffectiveFrom: testNow, Reason: revocation.ReasonSuperseded},
			{Issuer: "CN=a", Serial: "ff", EffectiveFrom: testNow, Reason: revocation.ReasonSuperseded},
			{Issuer: "CN=b", Serial: "a1b", EffectiveFrom: testNow.Add(-time.Minute), Reason: revocation.ReasonKeyCompromise},
		},
	}
	l, err := revocation.Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.IssuedAt, testNow; !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("IssuedAt = %v, want %v in UTC truncated to µs", got, want)
	}
	wantArchives := []revocation.RevokedArchive{
		{SHA256: "bb" + repeat("0", 62), Reason: revocation.ReasonVendorRequest, RevokedAt: testNow},
		{SHA256: "cc" + repeat("0", 62), Reason: revocation.ReasonPolicyViolation, RevokedAt: testNow.Add(-time.Hour)},
	}
	if !reflect.DeepEqual(l.Archives, wantArchives) {
		t.Errorf("Archives = %+v\nwant sorted, lowercased, earliest duplicate kept: %+v", l.Archives, wantArchives)
	}
	wantCerts := []revocation.RevokedCertificate{
		{Issuer: "CN=a", Serial: "ff", EffectiveFrom: testNow, Reason: revocation.ReasonSuperseded},
		{Issuer: "CN=b", Serial: "0a1b", EffectiveFrom: testNow.Add(-time.Minute), Reason: revocation.ReasonKeyCompromise},
	}
	if !reflect.DeepEqual(l.Certificates, wantCerts) {
		t.Errorf("Certificates = %+v\nwant %+v", l.Certificates, wantCerts)
	}
}

func TestBuildRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*revocation.Input)
	}{
		{"version zero", func(in *revocation.Input) { in.Version = 0 }},
		{"empty issuer", func(in *revocation.Input) { in.Issuer = "" }},
		{"issuer with newline", func(in *revocation.Input) { in.Issuer = "a\nb" }},
		{"next update not after issued", func(in *revocation.Input) { in.NextUpdate = in.IssuedAt }},
		{"no issued at", func(in *revocation.Input) { in.IssuedAt = time.Time{} }},
		{"short archive digest", func(in *revocation.Input) { in.Archives[0].SHA256 = "abcd" }},
		{"non-hex archive digest", func(in *revocation.Input) { in.Archives[0].SHA256 = "zz" + repeat("0", 62) }},
		{"unknown reason", func(in *revocation.Input) { in.Archives[0].Reason = "because" }},
		{"archive without time", func(in *revocation.Input) { in.Archives[0].RevokedAt = time.Time{} }},
		{"negative ledger id", func(in *revocation.Input) { in.Archives[0].LedgerEntryID = -1 }},
		{"serial not hex", func(in *revocation.Input) { in.Certificates[0].Serial = "xyz" }},
		{"serial zero", func(in *revocation.Input) { in.Certificates[0].Serial = "00" }},
		{"negative serial", func(in *revocation.Input) { in.Certificates[0].Serial = "-5" }},
		{"serial over 20 octets", func(in *revocation.Input) { in.Certificates[0].Serial = "1" + repeat("0", 41) }},
		{"certificate without issuer", func(in *revocation.Input) { in.Certificates[0].Issuer = "" }},
		{"certificate without effective time", func(in *revocation.Input) { in.Certificates[0].EffectiveFrom = time.Time{} }},
		{"bad key fingerprint", func(in *revocation.Input) { in.Keys[0].Fingerprint = "00" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := sampleInput()
			tt.mutate(&in)
			if _, err := revocation.Build(in); !errors.Is(err, revocation.ErrInvalidList) {
				t.Errorf("Build = %v, want ErrInvalidList", err)
			}
		})
	}
}

// TestMarshalEncoding pins the signed bytes: changing them breaks every
// verifier in the field.
func TestMarshalEncoding(t *testing.T) {
	l, err := revocation.Build(sampleInput())
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"format":"appsign.dev/revocation-list/v1","issuer":"appsign test","version":7,` +
		`"issued_at":"2026-03-01T12:00:00.000000Z","next_update":"2026-03-08T12:00:00.000000Z",` +
		`"archives":[{"sha256":"aa` + repeat("0", 62) + `","reason":"malicious","revoked_at":"2026-03-01T11:00:00.000000Z","ledger_entry_id":42}],` +
		`"certificates":[{"issuer":"CN=test marketplace CA,O=signer","serial":"0a1b","effective_from":"2026-02-28T12:00:00.000000Z","reason":"key-compromise"}],` +
		`"keys":[{"fingerprint":"bb` + repeat("1", 62) + `","effective_from":"2026-02-27T12:00:00.000000Z","reason":"superseded"}]}`
	if string(got) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", got, want)
	}

	empty, err := revocation.Build(revocation.Input{Issuer: "x", Version: 1, IssuedAt: testNow, NextUpdate: testNow.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := empty.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"archives":[],"certificates":[],"keys":[]`) {
		t.Errorf("empty list encodes entries as %s, want empty arrays", b)
	}
}

func TestMarshalRefusesNonCanonicalList(t *testing.T) {
	l, err := revocation.Build(sampleInput())
	if err != nil {
		t.Fatal(err)
	}
	l.Archives = append(l.Archives, l.Archives[0]) // duplicate, bypassing Build
	if _, err := l.Marshal(); !errors.Is(err, revocation.ErrInvalidList) {
		t.Errorf("Marshal of a list with a duplicate = %v, want ErrInvalidList", err)
	}
}

func TestParseReason(t *testing.T) {
	for _, r := range revocation.Reasons() {
		if got, err := revocation.ParseReason(string(r)); err != nil || got != r {
			t.Errorf("ParseReason(%q) = %q, %v", r, got, err)
		}
	}
	if _, err := revocation.ParseReason("keyCompromise"); !errors.Is(err, revocation.ErrInvalidList) {
		t.Errorf("ParseReason(keyCompromise) = %v, want ErrInvalidList", err)
	}
}

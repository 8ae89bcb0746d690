package revocation_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/revocation"
)

// exactFixture is a key revoked from T for key compromise whose entry
// names the two signatures the ledger recorded before T.
type exactFixture struct {
	T                time.Time
	key              ed25519.PrivateKey
	fp               string
	preA, preB, post signedArchive
	list             *revocation.List
}

// signedArchive is an archive's SHA-256 (hex) and a signature over it.
type signedArchive struct {
	sum string
	sig []byte
}

func signArchive(key ed25519.PrivateKey, content string) signedArchive {
	sum := sha256.Sum256([]byte(content))
	return signedArchive{hex.EncodeToString(sum[:]), ed25519.Sign(key, []byte(content))}
}

func (s signedArchive) digest() string {
	raw, _ := hex.DecodeString(s.sum)
	return revocation.SignatureDigest(raw, s.sig)
}

func newExactFixture(t *testing.T) exactFixture {
	t.Helper()
	f := exactFixture{T: testNow.Add(-24 * time.Hour), key: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))}
	f.fp = strings.Repeat("5a", 32)
	f.preA, f.preB, f.post = signArchive(f.key, "app-a 1.0"), signArchive(f.key, "app-b 1.0"), signArchive(f.key, "app-a 2.0")
	var err error
	f.list, err = revocation.Build(revocation.Input{
		Issuer: "t", Version: 3, IssuedAt: testNow, NextUpdate: testNow.Add(time.Hour),
		Keys: []revocation.RevokedKey{{Fingerprint: f.fp, EffectiveFrom: f.T, Reason: revocation.ReasonKeyCompromise,
			Exact: true, Valid: []string{strings.ToUpper(f.preB.digest()), f.preA.digest(), f.preA.digest()}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f exactFixture) query(s signedArchive, at time.Time, src revocation.TimeSource) revocation.Query {
	return revocation.Query{ArchiveSHA256: s.sum, Signature: s.sig, SignedAt: at, SignedAtSource: src,
		Chain: []revocation.CertRef{{Issuer: "CN=test marketplace CA", Serial: "01", KeyFingerprint: f.fp}}}
}

// TestCheckExact plays the thief against an exact key entry: offline (no
// ledger time), exactly the signatures the ledger recorded before T stay
// valid; a signature made later, or never logged, or one that borrows a
// listed signature for another archive, is revoked whatever time it claims.
func TestCheckExact(t *testing.T) {
	f := newExactFixture(t)
	thief := signArchive(f.key, "malware pretending to be app-a 1.1")
	borrowed := signedArchive{sum: f.post.sum, sig: f.preA.sig}
	before := f.T.Add(-time.Hour)
	tests := []struct {
		name    string
		q       revocation.Query
		revoked bool
	}{
		{"pre-T ledger signature, no time", f.query(f.preA, time.Time{}, revocation.TimeUnknown), false},
		{"the other pre-T ledger signature, no time", f.query(f.preB, time.Time{}, revocation.TimeUnknown), false},
		{"pre-T ledger signature, uppercase archive digest", f.query(signedArchive{strings.ToUpper(f.preA.sum), f.preA.sig}, time.Time{}, revocation.TimeUnknown), false},
		{"post-T signature, no time", f.query(f.post, time.Time{}, revocation.TimeUnknown), true},
		{"post-T signature claiming a pre-T statement time", f.query(f.post, before, revocation.TimeFromStatement), true},
		{"thief's unlogged signature, no time", f.query(thief, time.Time{}, revocation.TimeUnknown), true},
		{"thief's unlogged signature, backdated statement", f.query(thief, before, revocation.TimeFromStatement), true},
		{"listed signature presented for another archive", f.query(borrowed, time.Time{}, revocation.TimeUnknown), true},
		{"no signature bytes", f.query(signedArchive{sum: f.preA.sum}, time.Time{}, revocation.TimeUnknown), true},
		{"online: ledger time before T", f.query(f.post, before, revocation.TimeFromLedger), false},
		{"online: ledger time at T", f.query(f.preA, f.T, revocation.TimeFromLedger), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := revocation.Check(f.list, tt.q)
			var re *revocation.RevokedError
			switch {
			case !tt.revoked && err != nil:
				t.Fatalf("Check = %v, want valid", err)
			case tt.revoked && !errors.As(err, &re):
				t.Fatalf("Check = %v, want revoked", err)
			case tt.revoked && (re.Kind != "key" || re.Reason != revocation.ReasonKeyCompromise):
				t.Errorf("Check = %v, want the key entry named", err)
			}
		})
	}
}

// TestCheckExactEmpty: an exact entry with no valid signature (the key
// was revoked from before its first signature) revokes everything, while
// an entry that is not exact still honours a ledger time.
func TestCheckExactEmpty(t *testing.T) {
	f := newExactFixture(t)
	l, err := revocation.Build(revocation.Input{Issuer: "t", Version: 1, IssuedAt: testNow, NextUpdate: testNow.Add(time.Hour),
		Certificates: []revocation.RevokedCertificate{{Issuer: "CN=test marketplace CA", Serial: "01", EffectiveFrom: f.T, Reason: revocation.ReasonSuperseded, Exact: true}}})
	if err != nil {
		t.Fatal(err)
	}
	q := f.query(f.preA, f.T.Add(-time.Hour), revocation.TimeFromStatement)
	if err := revocation.Check(l, q); !errors.Is(err, revocation.ErrRevoked) {
		t.Errorf("exact empty certificate entry, superseded, statement time before T: Check = %v, want revoked", err)
	}
	l.Certificates[0].Exact = false
	if err := revocation.Check(l, q); err != nil {
		t.Errorf("same entry not exact: Check = %v, want valid (superseded trusts a statement time)", err)
	}
}

// TestExactEncoding pins the bytes of exact entries: the valid set is
// present (possibly []) exactly on exact entries, sorted, lowercase.
func TestExactEncoding(t *testing.T) {
	f := newExactFixture(t)
	got, err := f.list.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{f.preA.digest(), f.preB.digest()}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	wantKey := fmt.Sprintf(`"keys":[{"fingerprint":"%s","effective_from":"2026-02-28T12:00:00.000000Z","reason":"key-compromise","valid_signatures":["%s","%s"]}]}`, f.fp, want[0], want[1])
	if !strings.HasSuffix(string(got), wantKey) {
		t.Errorf("Marshal =\n%s\nwant it to end with\n%s", got, wantKey)
	}
	l, err := revocation.Build(revocation.Input{Issuer: "t", Version: 1, IssuedAt: testNow, NextUpdate: testNow.Add(time.Hour),
		Keys:         []revocation.RevokedKey{{Fingerprint: f.fp, EffectiveFrom: f.T, Reason: revocation.ReasonSuperseded, Exact: true}},
		Certificates: []revocation.RevokedCertificate{{Issuer: "CN=x", Serial: "01", EffectiveFrom: f.T, Reason: revocation.ReasonSuperseded}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"reason":"superseded","valid_signatures":[]}]`) || strings.Count(string(b), "valid_signatures") != 1 {
		t.Errorf("exact empty key and non-exact certificate encode as %s", b)
	}
}

// TestExactListTampered: whoever carries the list to the air-gapped
// machine cannot add a signature to the valid set, drop one, reorder or
// re-case it: the signature or the canonical-encoding check fails.
func TestExactListTampered(t *testing.T) {
	f := newExactFixture(t)
	key := newSigner(t)
	b, err := revocation.Sign(t.Context(), f.list, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := revocation.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := revocation.Verify(b, key.Public(), testNow); err != nil || len(got.Keys) != 1 || !got.Keys[0].Exact || len(got.Keys[0].Valid) != 2 {
		t.Fatalf("Verify = %+v, %v; want the exact entry back", got, err)
	}
	thief := signArchive(f.key, "thief").digest()
	lo, hi := f.list.Keys[0].Valid[0], f.list.Keys[0].Valid[1]
	resign := func(payload []byte) map[string]any {
		sig, err := key.SignMessage(t.Context(), payload)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"list": payload, "signature": sig}
	}
	replace := func(old, new string) []byte {
		out := bytes.Replace(s.Payload, []byte(old), []byte(new), 1)
		if bytes.Equal(out, s.Payload) {
			t.Fatalf("fixture: %q not in the payload", old)
		}
		return out
	}
	tests := []struct {
		name string
		env  func(map[string]any)
		want error
	}{
		{"thief's signature added", func(m map[string]any) {
			m["list"] = replace(`"valid_signatures":[`, `"valid_signatures":["`+thief+`",`)
		}, revocation.ErrBadSignature},
		{"a valid signature dropped", func(m map[string]any) {
			m["list"] = replace(`"`+lo+`",`, ``)
		}, revocation.ErrBadSignature},
		{"valid set dropped: entry no longer exact", func(m map[string]any) {
			m["list"] = replace(`,"valid_signatures":["`+lo+`","`+hi+`"]`, ``)
		}, revocation.ErrBadSignature},
		{"reordered, validly signed", func(m map[string]any) {
			for k, v := range resign(replace(`"`+lo+`","`+hi+`"`, `"`+hi+`","`+lo+`"`)) {
				m[k] = v
			}
		}, revocation.ErrMalformed},
		{"uppercase digest, validly signed", func(m map[string]any) {
			for k, v := range resign(replace(lo, strings.ToUpper(lo))) {
				m[k] = v
			}
		}, revocation.ErrMalformed},
		{"duplicate digest, validly signed", func(m map[string]any) {
			for k, v := range resign(replace(`"`+lo+`",`, `"`+lo+`","`+lo+`",`)) {
				m[k] = v
			}
		}, revocation.ErrMalformed},
		{"short digest, validly signed", func(m map[string]any) {
			for k, v := range resign(replace(`"`+lo+`",`, `"`+lo[:62]+`",`)) {
				m[k] = v
			}
		}, revocation.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := revocation.Verify(reenvelope(t, b, tt.env), key.Public(), testNow)
			if !errors.Is(err, tt.want) || l != nil {
				t.Errorf("Verify = %v, %v; want nil, %v", l, err, tt.want)
			}
		})
	}
}

// TestExactOversize: a list past MaxValidSignatures is refused when built
// (never truncated), and an envelope past MaxSize is refused unread.
func TestExactOversize(t *testing.T) {
	f := newExactFixture(t)
	valid := make([]string, revocation.MaxValidSignatures+1)
	for i := range valid {
		sum := sha256.Sum256(fmt.Appendf(nil, "%d", i))
		valid[i] = hex.EncodeToString(sum[:])
	}
	in := revocation.Input{Issuer: "t", Version: 1, IssuedAt: testNow, NextUpdate: testNow.Add(time.Hour),
		Keys: []revocation.RevokedKey{{Fingerprint: f.fp, EffectiveFrom: f.T, Reason: revocation.ReasonKeyCompromise, Exact: true, Valid: valid}}}
	if _, err := revocation.Build(in); !errors.Is(err, revocation.ErrInvalidList) || !strings.Contains(err.Error(), "more than") {
		t.Errorf("Build with %d valid signatures = %v, want ErrInvalidList naming the limit", len(valid), err)
	}
	// Split across two entries: the limit is per list.
	in.Keys[0].Valid = valid[:len(valid)/2]
	in.Certificates = []revocation.RevokedCertificate{{Issuer: "CN=x", Serial: "01", EffectiveFrom: f.T, Reason: revocation.ReasonKeyCompromise, Exact: true, Valid: valid[len(valid)/2:]}}
	if _, err := revocation.Build(in); !errors.Is(err, revocation.ErrInvalidList) {
		t.Errorf("Build with %d valid signatures over two entries = %v, want ErrInvalidList", len(valid), err)
	}
	in.Certificates[0].Valid = valid[len(valid)/2 : len(valid)-1]
	if _, err := revocation.Build(in); err != nil {
		t.Errorf("Build with exactly %d valid signatures = %v, want it accepted", revocation.MaxValidSignatures, err)
	}

	big := append([]byte(`{"list":"`), bytes.Repeat([]byte("A"), revocation.MaxSize)...)
	if _, err := revocation.Parse(append(big, `","signature":""}`...)); !errors.Is(err, revocation.ErrMalformed) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("Parse of an envelope over MaxSize = %v, want ErrMalformed naming the limit", err)
	}
	notExact := revocation.Input{Issuer: "t", Version: 1, IssuedAt: testNow, NextUpdate: testNow.Add(time.Hour),
		Keys: []revocation.RevokedKey{{Fingerprint: f.fp, EffectiveFrom: f.T, Reason: revocation.ReasonKeyCompromise, Valid: valid[:1]}}}
	if _, err := revocation.Build(notExact); !errors.Is(err, revocation.ErrInvalidList) {
		t.Errorf("Build with valid signatures on an entry that is not exact = %v, want ErrInvalidList", err)
	}
}

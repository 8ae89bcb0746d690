package revocation

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzParse: revocation lists arrive on air-gapped machines by hand; the
// parser must reject garbage without panicking, and whatever it accepts
// must be the one canonical encoding of its list (one list, one byte
// string, one signature), exact entries included. Check on an accepted
// list must not panic either, and an exact entry keeps a signature only if
// its valid set names it.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"list":"","signature":"","certificate":""}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[]`))
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	sum := sha256.Sum256([]byte("archive"))
	sig := ed25519.Sign(key, []byte("archive"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		again, err := s.List.Marshal()
		if err != nil || !bytes.Equal(again, s.Payload) {
			t.Fatalf("Parse accepted a payload that does not re-encode to itself: %v\n%s\n%s", err, s.Payload, again)
		}
		for _, k := range s.List.Keys {
			q := Query{ArchiveSHA256: hex.EncodeToString(sum[:]), Signature: sig,
				Chain: []CertRef{{Issuer: "CN=x", Serial: "01", KeyFingerprint: k.Fingerprint}}}
			err := Check(s.List, q)
			named := slices.Contains(k.Valid, SignatureDigest(sum[:], sig))
			if k.Exact && !named && err == nil {
				t.Fatalf("exact key entry %s without this signature did not revoke it", k.Fingerprint)
			}
		}
	})
}

// fuzzSeeds are valid envelopes, with exact entries, for the fuzzer to
// mutate.
func fuzzSeeds(f *testing.F) [][]byte {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sum := sha256.Sum256([]byte("archive"))
	valid := SignatureDigest(sum[:], ed25519.Sign(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)), []byte("archive")))
	var out [][]byte
	for _, in := range []Input{
		{Issuer: "seed", Version: 1, IssuedAt: now, NextUpdate: now.Add(time.Hour),
			Keys:         []RevokedKey{{Fingerprint: strings.Repeat("ab", 32), EffectiveFrom: now, Reason: ReasonKeyCompromise, Exact: true, Valid: []string{valid, strings.Repeat("0", 64)}}},
			Certificates: []RevokedCertificate{{Issuer: "CN=x", Serial: "01", EffectiveFrom: now, Reason: ReasonSuperseded, Exact: true}}},
		{Issuer: "seed", Version: 2, IssuedAt: now, NextUpdate: now.Add(time.Hour),
			Archives: []RevokedArchive{{SHA256: strings.Repeat("cd", 32), Reason: ReasonMalicious, RevokedAt: now, LedgerEntryID: 9}},
			Keys:     []RevokedKey{{Fingerprint: strings.Repeat("ef", 32), EffectiveFrom: now, Reason: ReasonSuperseded}}},
	} {
		l, err := Build(in)
		if err != nil {
			f.Fatal(err)
		}
		payload, err := l.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		env, err := json.Marshal(envelope{List: payload, Signature: ed25519.Sign(key, payload)})
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, env)
	}
	return out
}

package ledger

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/revocation"
	"github.com/appsign/signer/internal/revocationstore"
	"github.com/appsign/signer/internal/translog"
)

type memSigner struct{ priv ed25519.PrivateKey }

func (k memSigner) URI() kms.URI              { return kms.URI{Scheme: "memory"} }
func (k memSigner) Public() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }
func (k memSigner) Limits() kms.Limits        { return kms.Limits{MaxMessage: 1 << 20} }
func (k memSigner) Close() error              { return nil }
func (k memSigner) SignMessage(_ context.Context, msg []byte) ([]byte, error) {
	return ed25519.Sign(k.priv, msg), nil
}

// TestPublishedListAgainstTheLog: a published list whose digest is the
// logged one is still checked entry by entry against the revocations the
// log held when it was published: one it drops, or whose effective time
// it moves later, is named; earlier times and later revocations are fine.
func TestPublishedListAgainstTheLog(t *testing.T) {
	at := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	archive := strings.Repeat("a1", 32)
	keyFP, certSerial := strings.Repeat("b2", 32), "0c"
	logged := []revocationstore.Revocation{
		{ID: 1, Kind: revocationstore.KindArchive, ArchiveSHA256: archive, Reason: revocation.ReasonMalicious, RevokedAt: at, RevokedBy: "alice"},
		{ID: 2, Kind: revocationstore.KindKey, Fingerprint: keyFP, Reason: revocation.ReasonKeyCompromise, EffectiveFrom: at.Add(-time.Hour), RevokedAt: at, RevokedBy: "alice"},
		{ID: 3, Kind: revocationstore.KindCertificate, Issuer: "CN=ca", Serial: certSerial, Reason: revocation.ReasonSuperseded, EffectiveFrom: at, RevokedAt: at, RevokedBy: "alice"},
	}
	key := memSigner{ed25519.NewKeyFromSeed(make([]byte, 32))}
	full := revocation.Input{Issuer: "test", Version: 1, IssuedAt: at.Add(time.Hour), NextUpdate: at.Add(48 * time.Hour),
		Archives:     []revocation.RevokedArchive{{SHA256: archive, Reason: revocation.ReasonMalicious, RevokedAt: at}},
		Keys:         []revocation.RevokedKey{{Fingerprint: keyFP, EffectiveFrom: at.Add(-time.Hour), Reason: revocation.ReasonKeyCompromise}},
		Certificates: []revocation.RevokedCertificate{{Issuer: "CN=ca", Serial: certSerial, EffectiveFrom: at, Reason: revocation.ReasonSuperseded}}}
	tests := []struct {
		name string
		edit func(in *revocation.Input)
		want []string
	}{
		{"everything listed", func(*revocation.Input) {}, nil},
		{"an earlier time is stricter", func(in *revocation.Input) { in.Keys[0].EffectiveFrom = at.Add(-48 * time.Hour) }, nil},
		{"archive dropped", func(in *revocation.Input) { in.Archives = nil }, []string{"revocation list v1: drops revocation 1 of archive " + archive}},
		{"key dropped", func(in *revocation.Input) { in.Keys = nil }, []string{"revocation list v1: drops revocation 2 (key " + keyFP + ")"}},
		{"certificate moved later", func(in *revocation.Input) { in.Certificates[0].EffectiveFrom = at.Add(24 * time.Hour) },
			[]string{"revocation list v1: revocation 3 takes effect at 2026-07-02T08:00:00.000000Z, later than the logged 2026-07-01T08:00:00.000000Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := full
			in.Keys = append([]revocation.RevokedKey(nil), full.Keys...)
			in.Certificates = append([]revocation.RevokedCertificate(nil), full.Certificates...)
			tt.edit(&in)
			l, err := revocation.Build(in)
			if err != nil {
				t.Fatal(err)
			}
			env, err := revocation.Sign(t.Context(), l, key, nil)
			if err != nil {
				t.Fatal(err)
			}
			p := NewProjector()
			var evs []Event
			for i, r := range logged {
				evs = append(evs, RevocationEvent(revocationstore.Event{ID: int64(i + 1), RevocationID: r.ID, Action: "revoked", Reason: r.Reason,
					EffectiveFrom: r.EffectiveFrom, Actor: "alice", At: at, Revocation: r}))
			}
			doc := revocationstore.PublishedDocument{Kind: revocationstore.DocumentList, Actor: "alice",
				Published: revocationstore.Published{Version: 1, IssuedAt: l.IssuedAt, NextUpdate: l.NextUpdate, Data: env}}
			evs = append(evs, PublicationEvent(doc, l.IssuedAt))
			// A revocation logged after the publication is not the list's to hold.
			later := revocationstore.Revocation{ID: 4, Kind: revocationstore.KindArchive, ArchiveSHA256: strings.Repeat("d4", 32), Reason: revocation.ReasonMalicious, RevokedAt: at, RevokedBy: "bob"}
			evs = append(evs, RevocationEvent(revocationstore.Event{ID: 4, RevocationID: 4, Action: "revoked", Reason: later.Reason, Actor: "bob", At: at, Revocation: later}))
			for i, ev := range evs {
				payload, err := EncodeEvent(ev)
				if err != nil {
					t.Fatal(err)
				}
				p.Leaf(int64(i), translog.EncodeLeaf(ev.Kind, payload, at))
			}
			var got []string
			for _, f := range p.revs.checkLists([]Row{{Table: TableRevocationLists, Key: "1", Data: env}}) {
				got = append(got, f.String())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("findings %q; want %q", got, tt.want)
			}
			for i, w := range tt.want {
				if got[i] != "leaf 3: "+w {
					t.Errorf("finding %q; want %q", got[i], "leaf 3: "+w)
				}
			}
		})
	}
}

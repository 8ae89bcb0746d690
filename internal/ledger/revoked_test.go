package ledger_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/revocation"
	"github.com/appsign/signer/internal/revocationstore"
)

// TestEntryRevocationNamesTheRevocation: an entry revoked as an archive, by
// its key from T or by its certificate from T is named with the first
// revocation that listed it (kind, target, reason and, for key and
// certificate revocations, the effective time in UTC); an entry signed
// before T, or by another key, has none.
func TestEntryRevocationNamesTheRevocation(t *testing.T) {
	t.Parallel()
	f := newAllowlistFixture(t)
	ctx := t.Context()
	archived := f.sign(t, "1.0.0", 1, v0.Add(time.Hour))
	byKey := f.sign(t, "1.0.1", 1, v0.Add(5*time.Hour))
	byCert := f.sign(t, "2.0.0", 2, v0.Add(5*time.Hour))
	before := f.sign(t, "2.0.1", 2, v0.Add(time.Hour))

	ra, _, _, err := f.revs.RevokeArchive(ctx, revocationstore.ArchiveTarget{LedgerEntryID: archived.ID}, revocation.ReasonMalicious, "alice")
	if err != nil {
		t.Fatal(err)
	}
	fp := strings.Repeat("c3", 32)
	keyFrom := time.Date(2026, 4, 1, 13, 0, 0, 0, time.FixedZone("CEST", 2*3600)) // 11:00 UTC
	rk, _, _, err := f.revs.RevokeKey(ctx, fp, "CN=app-signing", keyFrom, revocation.ReasonKeyCompromise, "alice", version1)
	if err != nil {
		t.Fatal(err)
	}
	rc, _, _, err := f.revs.RevokeCertificate(ctx, revocationstore.CertificateTarget{Issuer: "CN=ca", Serial: "0a1b"}, v0.Add(3*time.Hour),
		revocation.ReasonSuperseded, "alice", func(c revocationstore.SignedCert) bool { return c.KeyVersion == 2 })
	if err != nil {
		t.Fatal(err)
	}
	// A later revocation of an entry already revoked does not replace the first.
	if _, _, _, err := f.revs.RevokeArchive(ctx, revocationstore.ArchiveTarget{LedgerEntryID: byKey.ID}, revocation.ReasonMalicious, "bob"); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name  string
		entry ledger.Entry
		want  ledger.EntryRevocation
	}{
		{"archive", archived, ledger.EntryRevocation{ID: ra.ID, Kind: "archive", Target: hex.EncodeToString(archived.SHA256), Reason: "malicious"}},
		{"key from T", byKey, ledger.EntryRevocation{ID: rk.ID, Kind: "key", Target: fp, Reason: "key-compromise", EffectiveFrom: v0.Add(3 * time.Hour)}},
		{"certificate from T", byCert, ledger.EntryRevocation{ID: rc.ID, Kind: "certificate", Target: "0a1b", Reason: "superseded", EffectiveFrom: v0.Add(3 * time.Hour)}},
	} {
		got, err := f.s.EntryRevocation(ctx, tt.entry.ID)
		if err != nil {
			t.Errorf("%s: EntryRevocation(%d): %v", tt.name, tt.entry.ID, err)
			continue
		}
		if got.ID != tt.want.ID || got.Kind != tt.want.Kind || got.Target != tt.want.Target || got.Reason != tt.want.Reason ||
			!got.EffectiveFrom.Equal(tt.want.EffectiveFrom) || got.EffectiveFrom.Location() != time.UTC {
			t.Errorf("%s: EntryRevocation(%d) = %+v; want %+v in UTC", tt.name, tt.entry.ID, got, tt.want)
		}
	}
	if got, err := f.s.EntryRevocation(ctx, before.ID); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("entry %d signed before T: EntryRevocation = %+v, %v; want ErrNotFound", before.ID, got, err)
	}
}

package revocationstore_test

import (
	"testing"

	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/revocation"
	"github.com/appsign/signer/internal/revocationstore"
)

// TestStoppedDatabaseIsUnavailable: with its database stopped, the store's
// reads and writes fail with ErrUnavailable (the server answers
// Unavailable: retry), and nothing reads as a missing or invalid target.
func TestStoppedDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := pgtest.Cluster(t) // its own server, since the test stops it
	url, err := c.CreateDatabase(ctx, "revocations")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureAt(t, url)
	s := revocationstore.New(f.ledger.Pool(), revocationstore.Options{})
	e := f.sign(t, "1.0.0", 2, t0)
	r, _, _, err := s.RevokeArchive(ctx, revocationstore.ArchiveTarget{LedgerEntryID: e.ID}, revocation.ReasonMalicious, "admin")
	if err != nil {
		t.Fatal(err)
	}
	pgtest.Outage(t, c, revocationstore.ErrUnavailable,
		pgtest.Call{Name: "List", Do: func() error { _, err := s.List(ctx); return err }},
		pgtest.Call{Name: "Events", Do: func() error { _, err := s.Events(ctx, r.ID); return err }},
		pgtest.Call{Name: "LatestList", Do: func() error { _, err := s.LatestList(ctx); return err }},
		pgtest.Call{Name: "RevokeArchive", Do: func() error {
			_, _, _, err := s.RevokeArchive(ctx, revocationstore.ArchiveTarget{LedgerEntryID: e.ID + 1}, revocation.ReasonMalicious, "admin")
			return err
		}},
		pgtest.Call{Name: "RevokeKey", Do: func() error {
			_, _, _, err := s.RevokeKey(ctx, fingerprint(f.certs[1]), "k", t0, revocation.ReasonKeyCompromise, "admin", byKey(fingerprint(f.certs[1])))
			return err
		}},
	)
}

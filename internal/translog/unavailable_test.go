package translog_test

import (
	"testing"

	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/translog"
)

// TestStoppedDatabaseIsUnavailable: with its database stopped, the log's
// reads and writes fail with ErrUnavailable (clients retry), not with an
// error the server reports as Internal.
func TestStoppedDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := pgtest.Cluster(t) // its own server, since the test stops it
	url, err := c.CreateDatabase(ctx, "translog")
	if err != nil {
		t.Fatal(err)
	}
	if err := ledger.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	l := openLog(t, newPool(t, url), translog.Options{})
	appendN(t, l, 2)
	if _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	pgtest.Outage(t, c, translog.ErrUnavailable,
		pgtest.Call{Name: "Size", Do: func() error { _, err := l.Size(ctx); return err }},
		pgtest.Call{Name: "InclusionProof", Do: func() error { _, err := l.InclusionProof(ctx, 0, 2); return err }},
		pgtest.Call{Name: "Checkpoints", Do: func() error { _, err := l.Checkpoints(ctx, 0, 10); return err }},
		pgtest.Call{Name: "Entries", Do: func() error {
			for _, err := range l.Entries(ctx, 0, 2) {
				if err != nil {
					return err
				}
			}
			return nil
		}},
		pgtest.Call{Name: "Append", Do: func() error { _, err := l.Append(ctx, translog.KindSignature, payload(3)); return err }},
		pgtest.Call{Name: "Checkpoint", Do: func() error { _, err := l.Checkpoint(ctx); return err }},
	)
}

package keystore_test

import (
	"testing"

	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/pgtest"
)

// TestStoppedDatabaseIsUnavailable: with its database stopped, the store's
// reads and writes fail with ErrUnavailable (the server answers
// Unavailable: retry), not with an error that reads as a bad request.
func TestStoppedDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := pgtest.Cluster(t) // its own server, since the test stops it
	url, err := c.CreateDatabase(ctx, "keystore")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvAt(t, url)
	s := e.store(t, keystore.Options{})
	if _, err := s.Create(ctx, "before", keystore.RoleArchiveSigning, soft, actor); err != nil {
		t.Fatal(err)
	}
	pgtest.Outage(t, c, keystore.ErrUnavailable,
		pgtest.Call{Name: "Get", Do: func() error { _, err := s.Get(ctx, "before"); return err }},
		pgtest.Call{Name: "List", Do: func() error { _, err := s.List(ctx); return err }},
		pgtest.Call{Name: "Events", Do: func() error { _, err := s.Events(ctx, "before"); return err }},
		pgtest.Call{Name: "Refresh", Do: func() error { return s.Refresh(ctx) }},
		pgtest.Call{Name: "Create", Do: func() error {
			_, err := s.Create(ctx, "after", keystore.RoleArchiveSigning, soft, actor)
			return err
		}},
		pgtest.Call{Name: "Rotate", Do: func() error { _, err := s.Rotate(ctx, "before", soft, actor); return err }},
		pgtest.Call{Name: "Retire", Do: func() error { return s.Retire(ctx, "before", 1, actor) }},
	)
}

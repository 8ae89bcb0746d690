package keystore_test

import (
	"errors"
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
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	calls := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := s.Get(ctx, "before"); return err }},
		{"List", func() error { _, err := s.List(ctx); return err }},
		{"Events", func() error { _, err := s.Events(ctx, "before"); return err }},
		{"Refresh", func() error { return s.Refresh(ctx) }},
		{"Create", func() error {
			_, err := s.Create(ctx, "after", keystore.RoleArchiveSigning, soft, actor)
			return err
		}},
		{"Rotate", func() error { _, err := s.Rotate(ctx, "before", soft, actor); return err }},
		{"Retire", func() error { return s.Retire(ctx, "before", 1, actor) }},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, keystore.ErrUnavailable) {
				t.Errorf("err = %v, want ErrUnavailable", err)
			}
		})
	}
}

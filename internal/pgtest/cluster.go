package pgtest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/appsign/signer/internal/pgcluster"
)

// Cluster starts a local PostgreSQL cluster of the test's own, for tests
// that stop, kill or restart their server (an outage test cannot stop the
// shared one). It is stopped when the test ends. Like URL, it skips the
// test when the server binaries are missing, or fails it when CI=true.
func Cluster(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	c, err := pgcluster.Start(t.Context(), pgcluster.Options{Fast: true})
	if err != nil {
		if os.Getenv("CI") != "true" && (errors.Is(err, pgcluster.ErrNoBinaries) || errors.Is(err, pgcluster.ErrNoServerUser)) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// t.Context() is already done when cleanups run; Stop of a
		// stopped cluster does nothing.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			t.Errorf("pgtest: stop own cluster: %v", err)
		}
	})
	return c
}

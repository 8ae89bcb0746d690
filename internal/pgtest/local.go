package pgtest

import (
	"context"

	"github.com/appsign/signer/internal/pgcluster"
)

// localBackend is a throwaway cluster from the installed server binaries.
type localBackend struct {
	c *pgcluster.Cluster
}

func startLocal(ctx context.Context) (*localBackend, error) {
	c, err := pgcluster.Start(ctx, pgcluster.Options{Fast: true})
	if err != nil {
		return nil, err
	}
	return &localBackend{c: c}, nil
}

func (b *localBackend) describe() string {
	return "local PostgreSQL cluster (log: " + b.c.LogFile() + ")"
}

func (b *localBackend) createDatabase(ctx context.Context, name string) (string, error) {
	return b.c.CreateDatabase(ctx, name)
}

// dropDatabase does nothing: the cluster and its files go away at the end.
func (b *localBackend) dropDatabase(context.Context, string) error { return nil }

func (b *localBackend) close(ctx context.Context) error { return b.c.Stop(ctx) }

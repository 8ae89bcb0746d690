package pgtest

import (
	"context"
	"errors"
)

// backend is a server that tests get databases from.
type backend interface {
	// describe says which server this is, for test logs.
	describe() string
	// createDatabase creates an empty database and returns its URL.
	createDatabase(ctx context.Context, name string) (string, error)
	// dropDatabase removes a database once its test is done, or does nothing
	// when the whole server goes away at the end anyway.
	dropDatabase(ctx context.Context, name string) error
	// close releases the server.
	close(ctx context.Context) error
}

// errNoServer means no PostgreSQL could be found: tests skip (or fail under CI).
var errNoServer = errors.New("pgtest: no PostgreSQL server available")

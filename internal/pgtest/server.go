package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
)

// serverBackend creates databases in a server it reaches with an admin URL
// (one that may CREATE DATABASE). The URL may hold a password: it is never
// put in an error or a log.
type serverBackend struct {
	adminURL string
	what     string
	// terminate, if set, releases the server itself (a container).
	terminate func(ctx context.Context) error
}

func (b *serverBackend) describe() string { return b.what }

func (b *serverBackend) createDatabase(ctx context.Context, name string) (string, error) {
	dbURL, err := withDatabase(b.adminURL, name)
	if err != nil {
		return "", err
	}
	if err := b.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return dbURL, nil
}

func (b *serverBackend) dropDatabase(ctx context.Context, name string) error {
	// FORCE ends sessions a test left open (PostgreSQL 13+).
	if err := b.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgtest: drop database %s: %w", name, err)
	}
	return nil
}

func (b *serverBackend) exec(ctx context.Context, sql string) error {
	cfg, err := pgx.ParseConfig(b.adminURL)
	if err != nil {
		// The parse error may quote the URL, password included.
		return fmt.Errorf("pgtest: %s is not a valid connection string", b.what)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("pgtest: connect to %s: %w", b.what, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

func (b *serverBackend) close(ctx context.Context) error {
	if b.terminate == nil {
		return nil
	}
	return b.terminate(ctx)
}

// withDatabase returns connString (a URL or keyword/value string) naming
// database name instead.
func withDatabase(connString, name string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("pgtest: the server URL does not parse") // the error would quote it
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String(), nil
	}
	// keyword/value: the last dbname wins.
	return connString + " dbname='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(name) + "'", nil
}

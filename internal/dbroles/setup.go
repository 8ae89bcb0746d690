package dbroles

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/ledger"
)

// ErrURL means the administrator's database URL is not a postgres:// URL.
var ErrURL = errors.New("dbroles: the database URL must be a postgres:// URL")

// Setup is `signer db roles`: with a superuser's URL it creates both roles
// (Create), runs the migrations as the migration role (so it owns what they
// create) and grants the service role its privileges (GrantService). Safe to
// repeat: run it again after upgrading the signer to migrate and re-grant.
func Setup(ctx context.Context, adminURL string, r Roles) error {
	if err := r.check(); err != nil {
		return err
	}
	migratorURL, err := asRole(adminURL, r.Migrator)
	if err != nil {
		return err
	}
	conn, err := connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := Create(ctx, conn, r); err != nil {
		return err
	}
	if err := ledger.Migrate(ctx, migratorURL); err != nil {
		return fmt.Errorf("dbroles: migrate as %s: %w", r.Migrator, err)
	}
	mconn, err := connect(ctx, migratorURL)
	if err != nil {
		return err
	}
	defer mconn.Close(context.WithoutCancel(ctx))
	return GrantService(ctx, mconn, r.Service)
}

// asRole returns the URL with the session's role set to role at connection
// start (the libpq "options" parameter), so objects created are owned by
// role while the administrator's credentials authenticate.
func asRole(databaseURL, role string) (string, error) {
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", ErrURL
	}
	q := u.Query()
	if q.Has("options") {
		return "", fmt.Errorf("%w without an options parameter", ErrURL)
	}
	q.Set("options", "-c role="+role)
	// libpq-style parsers read '+' literally: encode the space as %20.
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return u.String(), nil
}

// connect opens one connection. A URL that does not parse gives ErrURL
// only: pgx's parse errors may quote the URL, password included.
func connect(ctx context.Context, databaseURL string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, ErrURL
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("dbroles: connect as %s: %w", cfg.User, err)
	}
	return conn, nil
}

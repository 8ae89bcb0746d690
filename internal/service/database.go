package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/dbroles"
	"github.com/appsign/signer/internal/ledger"
)

// openLedger opens the ledger's database (databaseURL, or where db says
// to read it), sized to db.MaxConns, and checks the role it connects as.
func openLedger(ctx context.Context, databaseURL string, db config.Database, log *slog.Logger) (*ledger.Store, error) {
	if databaseURL == "" {
		var err error
		if databaseURL, err = readDatabaseURL(db); err != nil {
			return nil, err
		}
	}
	store, err := ledger.Open(ctx, withPoolSize(databaseURL, db.MaxConns))
	if err != nil {
		return nil, err
	}
	if db.RequireSynchronousStandby {
		warnUnlessSynchronous(ctx, store, log)
	}
	if err := checkServiceRole(ctx, store, db, log); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

// readDatabaseURL reads the ledger URL from the environment variable or
// the file the configuration names; the URL itself is never logged.
func readDatabaseURL(d config.Database) (string, error) {
	if d.URLFile != "" {
		fi, err := os.Stat(d.URLFile)
		if err != nil {
			return "", fmt.Errorf("database.url_file: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("database.url_file %s has mode %04o: it may hold a password; make it readable by its owner only (chmod 600)", d.URLFile, fi.Mode().Perm())
		}
		b, err := os.ReadFile(d.URLFile)
		if err != nil {
			return "", fmt.Errorf("database.url_file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if u := os.Getenv(d.URLEnv); u != "" {
		return u, nil
	}
	return "", fmt.Errorf("%w: no database URL: set %s (database.url_env) or database.url_file", ErrConfig, d.URLEnv)
}

// withPoolSize sets pool_max_conns on a postgres:// URL that does not set
// it. Other URL forms (key=value DSNs) are returned unchanged.
func withPoolSize(databaseURL string, n int) string {
	u, err := url.Parse(databaseURL)
	if err != nil || n <= 0 || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Query().Has("pool_max_conns") {
		return databaseURL
	}
	q := u.Query()
	q.Set("pool_max_conns", strconv.Itoa(n))
	u.RawQuery = q.Encode()
	return u.String()
}

// checkServiceRole refuses a database role that could switch off the
// ledger's append-only triggers (a superuser, a table owner) unless the
// configuration says this is a development setup.
func checkServiceRole(ctx context.Context, store *ledger.Store, db config.Database, log *slog.Logger) error {
	st, err := dbroles.Check(ctx, store.Pool())
	if err != nil {
		return err
	}
	if !st.Privileged() {
		return nil
	}
	if db.DevSetup {
		log.Warn("database.dev_setup: running with a privileged database role; never in production", "problem", st.Problem())
		return nil
	}
	return errors.New(st.Problem() + ": connect as the service role `signer db roles` creates (docs/operations.md), or set database.dev_setup: true on a development machine")
}

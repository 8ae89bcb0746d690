package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/dbroles"
	"github.com/appsign/signer/internal/ledger"
)

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

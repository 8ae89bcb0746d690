package service

import (
	"context"
	"log/slog"

	"github.com/appsign/signer/internal/ledger"
)

// warnUnlessSynchronous logs a warning for each reason the database might
// lose, on failover, a commit the service acknowledged to a client
// (database.require_synchronous_standby). It warns rather than refuses:
// the service still serves, and the operator sees why its promise is weaker.
func warnUnlessSynchronous(ctx context.Context, store *ledger.Store, log *slog.Logger) {
	r, err := store.Replication(ctx)
	if err != nil {
		log.Warn("database.require_synchronous_standby: cannot read the replication settings", "error", err.Error())
		return
	}
	problems := r.Problems()
	for _, p := range problems {
		log.Warn("database.require_synchronous_standby: the database is not synchronously replicated", "problem", p)
	}
	if len(problems) == 0 {
		log.Info("database is synchronously replicated", "synchronous_standby_names", r.SynchronousStandbyNames,
			"synchronous_commit", r.SynchronousCommit, "sync_standbys", r.SyncStandbys)
	}
}

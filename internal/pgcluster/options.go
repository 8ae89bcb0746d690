package pgcluster

import "log/slog"

// Options configures Start.
type Options struct {
	// Dir is the parent of the directories data (the cluster), sock (the
	// unix socket) and log (postgres.log). Empty means a new temporary directory under /tmp,
	// removed by Stop. A given Dir is kept by Stop, and a data directory
	// already in it is reused, so `signer dev` can keep its ledger.
	Dir string
	// BinDir holds initdb, pg_ctl and postgres. Empty means discover them:
	// $PG_BIN, else the highest /usr/lib/postgresql/*/bin, else
	// `pg_config --bindir`, else $PATH.
	BinDir string
	// Fast trades durability for speed (fsync, synchronous_commit and
	// full_page_writes off). For tests only: a crash can corrupt the data.
	Fast bool
	// Settings are extra postgresql.conf parameters, written after (so
	// overriding) the ones pgcluster chooses: replication settings such as
	// synchronous_standby_names and synchronous_commit, for example.
	Settings map[string]string
	// Log, if set, receives progress records (start, stop, initdb,
	// promotion), at level Info.
	Log *slog.Logger
}

// log returns Log, or a logger that discards.
func (o Options) log() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

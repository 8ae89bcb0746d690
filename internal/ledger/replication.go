package ledger

import (
	"context"
	"fmt"
	"strings"
)

// Replication is what the database reports about synchronous replication:
// whether a commit the signer sees (and answers a client for) is also on a
// standby that a failover would promote.
type Replication struct {
	// SynchronousStandbyNames is the primary's synchronous_standby_names:
	// empty means commits wait for no standby.
	SynchronousStandbyNames string
	// SynchronousCommit is synchronous_commit for the service's sessions;
	// "off" and "local" do not wait for a standby.
	SynchronousCommit string
	// SyncStandbys counts the standbys pg_stat_replication shows as sync or
	// quorum; -1 when the role may not read sync_state (it needs
	// pg_monitor or pg_read_all_stats).
	SyncStandbys int
	// InRecovery means the database is itself a standby (read-only).
	InRecovery bool
}

// Replication reads the database's replication settings and standbys.
func (s *Store) Replication(ctx context.Context) (Replication, error) {
	var r Replication
	var connected, hidden int
	err := s.pool.QueryRow(ctx, `
		SELECT current_setting('synchronous_standby_names'), current_setting('synchronous_commit'), pg_is_in_recovery(),
		       (SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')),
		       (SELECT count(*) FROM pg_stat_replication),
		       (SELECT count(*) FROM pg_stat_replication WHERE sync_state IS NULL)`).
		Scan(&r.SynchronousStandbyNames, &r.SynchronousCommit, &r.InRecovery, &r.SyncStandbys, &connected, &hidden)
	if err != nil {
		return Replication{}, wrap("read replication settings", err)
	}
	if hidden > 0 {
		r.SyncStandbys = -1
	}
	return r, nil
}

// Problems lists why a commit acknowledged to a client might not survive
// the loss of the primary, or might block; none means commits wait for a
// connected synchronous standby.
func (r Replication) Problems() []string {
	var out []string
	if strings.TrimSpace(r.SynchronousStandbyNames) == "" {
		out = append(out, "synchronous_standby_names is empty: commits do not wait for any standby, so a failover can lose signatures clients already hold")
	}
	switch r.SynchronousCommit {
	case "off", "local":
		out = append(out, fmt.Sprintf("synchronous_commit = %s: commits do not wait for a standby", r.SynchronousCommit))
	}
	switch {
	case r.InRecovery:
		out = append(out, "the database is a standby (in recovery): point the URL at the primary (target_session_attrs=read-write)")
	case r.SyncStandbys == 0 && strings.TrimSpace(r.SynchronousStandbyNames) != "":
		out = append(out, "no synchronous standby is connected (pg_stat_replication): commits block until one is")
	case r.SyncStandbys < 0:
		out = append(out, "cannot see whether a synchronous standby is connected: grant pg_monitor to the service role")
	}
	return out
}

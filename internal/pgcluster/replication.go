package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// StartStandby takes a base backup of the running cluster c (pg_basebackup
// over c's socket, with the WAL streamed alongside) into a new cluster and
// starts it as a hot standby streaming from c. name is the standby's
// application_name: what c's synchronous_standby_names must list for its
// commits to wait for this standby. opts configures the standby as for
// Start (Dir, BinDir, Fast, Settings, Log).
func (c *Cluster) StartStandby(ctx context.Context, name string, opts Options) (*Cluster, error) {
	if name == "" || strings.ContainsAny(name, " '\\=") {
		return nil, fmt.Errorf("pgcluster: standby name %q: use letters, digits, '-' and '_'", name)
	}
	s, err := newCluster(ctx, opts)
	if err != nil {
		return nil, err
	}
	// -R writes standby.signal and primary_conninfo (with the
	// application_name given here) into postgresql.auto.conf.
	conninfo := fmt.Sprintf("host=%s port=%d user=%s application_name=%s", c.sockDir, port, superuser, name)
	s.opts.log().Info("pgcluster: base backup", "from", c.dataDir, "into", s.dataDir)
	if _, err := s.run(ctx, "pg_basebackup", "-D", s.dataDir, "-d", conninfo, "-X", "stream", "-c", "fast", "-R", "--no-sync"); err != nil {
		return nil, s.failPrepare(fmt.Errorf("pgcluster: base backup for standby %s: %w", name, err))
	}
	if err := s.start(ctx); err != nil {
		return nil, s.failPrepare(err)
	}
	return s, nil
}

// Promote ends recovery on a standby (pg_ctl promote) and waits until it
// accepts writes, as an HA manager does after losing the primary.
func (c *Cluster) Promote(ctx context.Context) error {
	if _, err := c.run(ctx, "pg_ctl", "promote", "-D", c.dataDir, "-w", "-t", "60", "-s"); err != nil {
		return fmt.Errorf("pgcluster: promote: %w%s", err, c.logTail())
	}
	c.opts.log().Info("pgcluster: promoted", "data_dir", c.dataDir)
	return nil
}

// MultiHostURL returns a pgx-compatible URL for database dbname listing the
// clusters' sockets in order, with target_session_attrs=read-write: a client
// connects to whichever of them accepts writes (the primary), as it would
// with a list of hosts in production.
func MultiHostURL(dbname string, clusters ...*Cluster) string {
	hosts := make([]string, len(clusters))
	ports := make([]string, len(clusters))
	for i, c := range clusters {
		hosts[i], ports[i] = c.sockDir, strconv.Itoa(port)
	}
	q := url.Values{}
	q.Set("host", strings.Join(hosts, ","))
	q.Set("port", strings.Join(ports, ","))
	q.Set("sslmode", "disable")
	q.Set("target_session_attrs", "read-write")
	u := url.URL{Scheme: "postgres", User: url.User(superuser), Path: "/" + dbname, RawQuery: q.Encode()}
	return u.String()
}

// Reconfigure merges settings into the cluster's Settings, rewrites its
// configuration and reloads it (pg_ctl reload), as an HA manager does when
// it names a synchronous standby once that standby streams: set
// synchronous_standby_names before a standby exists and every commit waits
// for it. Only parameters PostgreSQL applies on reload take effect.
func (c *Cluster) Reconfigure(ctx context.Context, settings map[string]string) error {
	merged := maps.Clone(c.opts.Settings)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, settings)
	c.opts.Settings = merged
	if err := c.writeConfig(); err != nil {
		return err
	}
	if _, err := c.run(ctx, "pg_ctl", "reload", "-D", c.dataDir, "-s"); err != nil {
		return fmt.Errorf("pgcluster: reload: %w", err)
	}
	return nil
}

// WaitStandby waits until c's pg_stat_replication shows the standby named
// name streaming with sync_state syncState ("sync", "async", ...), or ctx
// ends.
func (c *Cluster) WaitStandby(ctx context.Context, name, syncState string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pgcluster: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var last string
	for {
		var state, sync string
		err := conn.QueryRow(ctx, `SELECT state, sync_state FROM pg_stat_replication WHERE application_name = $1`, name).Scan(&state, &sync)
		switch {
		case err == nil && state == "streaming" && sync == syncState:
			return nil
		case err == nil:
			last = state + "/" + sync
		case errors.Is(err, pgx.ErrNoRows):
			last = "not connected"
		default:
			return fmt.Errorf("pgcluster: read pg_stat_replication: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgcluster: standby %s is %s, not streaming %s: %w", name, last, syncState, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

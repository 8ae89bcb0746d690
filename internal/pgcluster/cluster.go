package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// port only names the socket file (.s.PGSQL.5432): there is no TCP listener,
// and each cluster has its own socket directory, so clusters never collide.
const port = 5432

// superuser is the role initdb creates and URL connects as.
const superuser = "postgres"

// maxSocketPath is the longest unix socket path Linux accepts (sun_path minus NUL).
const maxSocketPath = 107

// Cluster is a running PostgreSQL server started by Start.
type Cluster struct {
	opts      Options
	binDir    string
	dir       string // parent of data, sock and log
	removeDir bool   // dir was created by Start and is removed by Stop
	dataDir   string
	sockDir   string
	logFile   string
	runAs     *serverUser

	mu      sync.Mutex
	stopped bool
}

// Start creates (or reuses, see Options.Dir) a data directory and starts a
// server listening on a private unix socket. It returns an error wrapping
// ErrNoBinaries when the server binaries are missing, and an error holding
// the tail of the server log when the server does not come up.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	c, err := newCluster(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := c.start(ctx); err != nil {
		if c.removeDir {
			_ = os.RemoveAll(c.dir)
		}
		return nil, err
	}
	return c, nil
}

// newCluster finds the server binaries and the user to run them as, and
// prepares the data directory of a cluster that is not started yet.
func newCluster(ctx context.Context, opts Options) (*Cluster, error) {
	binDir, err := FindBinDir(ctx, opts.BinDir)
	if err != nil {
		return nil, err
	}
	runAs, err := lookupServerUser()
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, binDir: binDir, runAs: runAs}
	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) prepareDir() error {
	dir, created := c.opts.Dir, false
	if dir == "" {
		// Not os.TempDir: $TMPDIR may be private to the current user (which the
		// postgres user must traverse when we run as root) or too long for a
		// socket path.
		parent := "/tmp"
		if _, err := os.Stat(parent); err != nil {
			parent = os.TempDir()
		}
		d, err := os.MkdirTemp(parent, "pgcluster-")
		if err != nil {
			return fmt.Errorf("pgcluster: create temp dir: %w", err)
		}
		dir, created, c.removeDir = d, true, true
	} else {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("pgcluster: resolve dir %s: %w", dir, err)
		}
		dir = abs
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			created = true
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("pgcluster: create dir: %w", err)
		}
	}
	c.dir = dir
	c.dataDir = filepath.Join(dir, "data")
	c.sockDir = filepath.Join(dir, "sock")
	logDir := filepath.Join(dir, "log")
	c.logFile = filepath.Join(logDir, "postgres.log")

	if n := len(c.socketPath()); n > maxSocketPath {
		return c.failPrepare(fmt.Errorf("pgcluster: socket path %s is %d bytes, over the limit of %d: use a shorter dir", c.socketPath(), n, maxSocketPath))
	}
	for _, d := range []string{c.dataDir, c.sockDir, logDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return c.failPrepare(fmt.Errorf("pgcluster: create %s: %w", d, err))
		}
		// MkdirAll keeps the mode of a directory that already exists.
		if err := os.Chmod(d, 0o700); err != nil {
			return c.failPrepare(fmt.Errorf("pgcluster: restrict %s: %w", d, err))
		}
	}
	owned := []string{c.dataDir, c.sockDir, logDir}
	if created {
		// Ours and 0700: the server user must be able to enter it. A dir that
		// already existed is left as it is; it must be traversable by that user.
		owned = append(owned, c.dir)
	}
	for _, p := range owned {
		if err := c.runAs.own(p); err != nil {
			return c.failPrepare(err)
		}
	}
	return nil
}

func (c *Cluster) failPrepare(err error) error {
	if c.removeDir {
		_ = os.RemoveAll(c.dir)
	}
	return err
}

func (c *Cluster) socketPath() string {
	return filepath.Join(c.sockDir, ".s.PGSQL."+strconv.Itoa(port))
}

func (c *Cluster) start(ctx context.Context) error {
	begin := time.Now()
	if err := c.initdb(ctx); err != nil {
		return err
	}
	if err := c.writeConfig(); err != nil {
		return err
	}
	// A reused dir may have a live server: refuse rather than touch it (the
	// failure path below stops the server in the data directory).
	running, err := c.running(ctx)
	if err != nil {
		return fmt.Errorf("pgcluster: check for a running server: %w", err)
	}
	if running {
		return fmt.Errorf("pgcluster: a server is already running in %s", c.dataDir)
	}
	_, err = c.run(ctx, "pg_ctl", "start", "-D", c.dataDir, "-l", c.logFile, "-w", "-t", "60", "-s")
	if err != nil {
		// The server may be up even though pg_ctl failed (say ctx ended while
		// it waited): make sure it is not left running.
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = c.run(stopCtx, "pg_ctl", "stop", "-D", c.dataDir, "-m", "immediate", "-w", "-s")
		return fmt.Errorf("pgcluster: start server: %w%s", err, c.logTail())
	}
	c.opts.log().Info("pgcluster: PostgreSQL listening", "bin_dir", c.binDir, "socket", c.socketPath(), "started_in", time.Since(begin).Round(time.Millisecond))
	return nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); err == nil {
		c.opts.log().Info("pgcluster: reusing data directory", "data_dir", c.dataDir)
		return nil
	}
	args := []string{
		"-D", c.dataDir,
		"-U", superuser,
		"--auth-local=trust", // safe only because the socket dir is 0700, see doc.go
		"--auth-host=reject",
		"--encoding=UTF8",
		"--locale=C",
		"--no-instructions",
	}
	if c.opts.Fast {
		args = append(args, "--no-sync")
	}
	c.opts.log().Info("pgcluster: initdb", "data_dir", c.dataDir)
	if _, err := c.run(ctx, "initdb", args...); err != nil {
		return fmt.Errorf("pgcluster: initdb: %w", err)
	}
	return nil
}

// URL returns a pgx-compatible URL for database dbname, connecting as the
// superuser over the unix socket. It holds no password.
func (c *Cluster) URL(dbname string) string {
	q := url.Values{}
	q.Set("host", c.sockDir)
	q.Set("port", strconv.Itoa(port))
	q.Set("sslmode", "disable")
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Path:     "/" + dbname,
		RawQuery: q.Encode(),
	}
	return u.String()
}

// LogFile returns the path of the server log.
func (c *Cluster) LogFile() string { return c.logFile }

// Stop shuts the server down (fast mode: open sessions are ended) and, when
// Start created the directory, removes it. Calling Stop again does nothing.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	if _, err := c.run(ctx, "pg_ctl", "stop", "-D", c.dataDir, "-m", "fast", "-w", "-t", "60", "-s"); err != nil {
		running, statusErr := c.running(ctx)
		if statusErr != nil || running {
			return fmt.Errorf("pgcluster: stop server: %w", errors.Join(err, statusErr))
		}
		// Already down (crashed or stopped by someone else): nothing to stop.
	}
	c.stopped = true
	if c.removeDir {
		if err := os.RemoveAll(c.dir); err != nil {
			return fmt.Errorf("pgcluster: remove %s: %w", c.dir, err)
		}
	}
	c.opts.log().Info("pgcluster: stopped server", "dir", c.dir)
	return nil
}

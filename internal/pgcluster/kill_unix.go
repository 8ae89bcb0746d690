//go:build unix

package pgcluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Kill ends the server and every one of its backends with SIGKILL at once
// (pg_ctl makes the postmaster a process group leader), as a crashed
// machine would: nothing is flushed or shut down cleanly. Stop afterwards
// only removes what Start created.
func (c *Cluster) Kill() error {
	pid, err := c.postmasterPID()
	if err != nil {
		return err
	}
	// The group first; a postmaster that is not a group leader still dies.
	groupErr := syscall.Kill(-pid, syscall.SIGKILL)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && groupErr != nil {
		return fmt.Errorf("pgcluster: kill postmaster %d: %w", pid, errors.Join(groupErr, err))
	}
	// Wait until the postmaster is gone, so a caller's next step (promote
	// the standby) really happens after the loss.
	for range 500 {
		if syscall.Kill(pid, 0) != nil {
			c.opts.log().Info("pgcluster: killed server", "pid", pid, "dir", c.dir)
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("pgcluster: postmaster %d still alive 5s after SIGKILL", pid)
}

// postmasterPID reads the postmaster's process id from postmaster.pid.
func (c *Cluster) postmasterPID() (int, error) {
	b, err := os.ReadFile(filepath.Join(c.dataDir, "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("pgcluster: no running server in %s: %w", c.dataDir, err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("pgcluster: postmaster.pid in %s starts with %q, not a process id", c.dataDir, first)
	}
	return pid, nil
}

package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// run runs one of the server binaries as the server user, in the cluster
// dir, and returns its combined output; a failure carries that output.
func (c *Cluster) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	cmd.Dir = c.dir
	// Messages in English whatever the caller's locale, so logs read the same everywhere.
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// pg_ctl start leaves the server running; should it ever keep our pipe
	// open, do not wait for it forever.
	cmd.WaitDelay = 5 * time.Second
	c.runAs.apply(cmd)
	err := cmd.Run()
	text := strings.TrimSpace(out.String())
	if err != nil {
		if c.runAs != nil {
			var pathErr *os.PathError
			if errors.As(err, &pathErr) {
				return text, fmt.Errorf("run %s as OS user postgres in %s (every parent directory must be traversable by that user): %w", name, c.dir, err)
			}
		}
		if text != "" {
			return text, fmt.Errorf("%s: %w: %s", name, err, text)
		}
		return text, fmt.Errorf("%s: %w", name, err)
	}
	return text, nil
}

// running asks pg_ctl whether the server is up.
func (c *Cluster) running(ctx context.Context) (bool, error) {
	_, err := c.run(ctx, "pg_ctl", "status", "-D", c.dataDir)
	if err == nil {
		return true, nil
	}
	var exitErr *exec.ExitError
	// 3: not running; 4: no accessible data directory (so nothing running from it).
	if errors.As(err, &exitErr) && (exitErr.ExitCode() == 3 || exitErr.ExitCode() == 4) {
		return false, nil
	}
	return false, err
}

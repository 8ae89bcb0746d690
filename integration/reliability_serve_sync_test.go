//go:build reliability

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReliabilityServeWarnsWithoutSynchronousStandby starts `signer serve`
// with database.require_synchronous_standby: true, once on a database with
// no standby (it must warn that synchronous_standby_names is empty) and
// once on a primary with a synchronous standby (no warning; it logs that
// the database is synchronously replicated).
func TestReliabilityServeWarnsWithoutSynchronousStandby(t *testing.T) {
	e := startServe(t)
	const warning = "the database is not synchronously replicated"
	cfg := strings.Replace(e.config, "database: {dev_setup: true}", "database: {dev_setup: true, require_synchronous_standby: true}", 1)
	if cfg == e.config {
		t.Fatal("the serve test's config has no database line to extend")
	}
	cfgFile := filepath.Join(e.dir, "signer-require-sync.yaml")
	must(t, os.WriteFile(cfgFile, []byte(cfg), 0o600))

	alone := startSigner(t, []string{"DATABASE_URL=" + e.dbURL}, e.dir, "serve", "--config", cfgFile)
	if !waitStderr(alone, "synchronous_standby_names is empty") || !strings.Contains(alone.stderr.String(), warning) {
		t.Fatalf("no warning on a database without a synchronous standby:\n%s", alone.stderr)
	}
	if err := alone.Stop(); err != nil {
		t.Fatalf("signer serve did not stop cleanly on SIGTERM: %v\n%s", err, alone.stderr)
	}

	ha := startHA(t, true)
	signer, _ := binaries(t)
	if r := runEnv(t, []string{"DATABASE_URL=" + ha.url}, signer, "migrate"); r.code != 0 {
		t.Fatalf("signer migrate: %d %s", r.code, r.stderr)
	}
	synced := startSigner(t, []string{"DATABASE_URL=" + ha.url}, e.dir, "serve", "--config", cfgFile)
	if !waitStderr(synced, "database is synchronously replicated") || strings.Contains(synced.stderr.String(), warning) {
		t.Fatalf("with a synchronous standby:\n%s", synced.stderr)
	}
}

// waitStderr waits a little for text in a signer's log (it is written
// before the signer prints its address, so normally already there).
func waitStderr(d *devServer, text string) bool {
	for range 50 {
		if strings.Contains(d.stderr.String(), text) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

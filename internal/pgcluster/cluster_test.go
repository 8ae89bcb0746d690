package pgcluster_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/pgcluster"
)

// requireBinaries skips when the server binaries are missing, unless CI=true.
func requireBinaries(t *testing.T) {
	t.Helper()
	if _, err := pgcluster.FindBinDir(t.Context(), ""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and no PostgreSQL: %v", err)
		}
		t.Skipf("no PostgreSQL: %v", err)
	}
}

// tmpDir returns a fresh directory under /tmp, which the postgres OS user
// can traverse (t.TempDir's parents may be private to root).
func tmpDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func queryString(t *testing.T, url, sql string) string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	var s string
	if err := conn.QueryRow(t.Context(), sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func execSQL(t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestStartTempDir(t *testing.T) {
	requireBinaries(t)
	t.Parallel()
	ctx := t.Context()
	var logs bytes.Buffer
	c, err := pgcluster.Start(ctx, pgcluster.Options{Fast: true, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { c.Stop(context.WithoutCancel(ctx)) })

	settings := []struct {
		name, sql, want string
	}{
		{"no TCP listener", "SHOW listen_addresses", ""},
		{"fast mode", "SHOW fsync", "off"},
		{"max connections", "SHOW max_connections", "200"},
		{"superuser", "SELECT current_user", "postgres"},
	}
	for _, s := range settings {
		t.Run(s.name, func(t *testing.T) {
			if got := queryString(t, c.URL("postgres"), s.sql); got != s.want {
				t.Errorf("%s = %q, want %q", s.sql, got, s.want)
			}
		})
	}

	sockDir := queryString(t, c.URL("postgres"), "SHOW unix_socket_directories")
	fi, err := os.Stat(sockDir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("socket dir mode = %o, want 700", perm)
	}

	url, err := c.CreateDatabase(ctx, "Ledger-Test")
	if err != nil {
		t.Fatalf("CreateDatabase: %v", err)
	}
	if got := queryString(t, url, "SELECT current_database()"); got != "Ledger-Test" {
		t.Errorf("current_database() = %q, want Ledger-Test", got)
	}
	if _, err := c.CreateDatabase(ctx, "Ledger-Test"); err == nil {
		t.Error("CreateDatabase of an existing name: got nil error")
	}

	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(sockDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir still there after Stop: %v", err)
	}
	if conn, err := pgx.Connect(ctx, url); err == nil {
		conn.Close(ctx)
		t.Error("connected after Stop")
	}
	for _, want := range []string{`msg="pgcluster: initdb"`, `msg="pgcluster: PostgreSQL listening"`, `msg="pgcluster: stopped server"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
}

func TestStartGivenDirIsDurableAndReused(t *testing.T) {
	requireBinaries(t)
	t.Parallel()
	ctx := t.Context()
	parent := tmpDir(t)
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "dev") // Start creates it

	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { c.Stop(context.WithoutCancel(ctx)) })
	if got := queryString(t, c.URL("postgres"), "SHOW fsync"); got != "on" {
		t.Errorf("fsync = %q, want on by default", got)
	}
	if _, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Start on a live dir: err = %v, want already running", err)
	}
	execSQL(t, c.URL("postgres"), "CREATE TABLE kept AS SELECT 'still here'::text AS v")
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		t.Fatalf("given dir was not kept: %v", err)
	}

	c, err = pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Fast: true})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	if got := queryString(t, c.URL("postgres"), "SELECT v FROM kept"); got != "still here" {
		t.Errorf("after restart v = %q", got)
	}
	if got := queryString(t, c.URL("postgres"), "SHOW fsync"); got != "off" {
		t.Errorf("fsync = %q after restart with Fast, want off", got)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}

	// A broken config makes the server fail: the error carries the log tail.
	conf := filepath.Join(dir, "data", "postgresql.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\nthis is = not valid config\n")
	f.Close()
	_, err = pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Fast: true})
	if err == nil {
		t.Fatal("Start with a broken config: got nil error")
	}
	if !strings.Contains(err.Error(), "server log") || !strings.Contains(err.Error(), "syntax error") {
		t.Errorf("error lacks the log tail: %v", err)
	}
}

func TestStartWithoutBinaries(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		name  string
		opts  pgcluster.Options
		pgBin string
	}{
		{"explicit BinDir without binaries", pgcluster.Options{BinDir: empty}, ""},
		{"PG_BIN without binaries", pgcluster.Options{}, empty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PG_BIN", tt.pgBin)
			_, err := pgcluster.Start(t.Context(), tt.opts)
			if !errors.Is(err, pgcluster.ErrNoBinaries) {
				t.Fatalf("err = %v, want ErrNoBinaries", err)
			}
			if !strings.Contains(err.Error(), "apt-get install postgresql") {
				t.Errorf("error does not say how to install: %v", err)
			}
		})
	}
}

package pgcluster

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// configFile is rewritten on every Start, so a reused data directory gets
// the settings of the current Options; postgresql.conf includes it.
const configFile = "pgcluster.conf"

func (c *Cluster) writeConfig() error {
	durable := "on"
	if c.opts.Fast {
		durable = "off"
	}
	settings := [][2]string{
		{"listen_addresses", quote("")}, // no TCP at all: unix socket only
		{"port", fmt.Sprint(port)},
		{"unix_socket_directories", quote(c.sockDir)},
		{"unix_socket_permissions", "0700"},
		{"max_connections", "200"},
		{"fsync", durable},
		{"synchronous_commit", durable},
		{"full_page_writes", durable},
	}
	names := slices.Sorted(maps.Keys(c.opts.Settings))
	for _, name := range names {
		settings = append(settings, [2]string{name, quote(c.opts.Settings[name])})
	}
	var b strings.Builder
	b.WriteString("# Written by pgcluster on every start; edits are lost.\n")
	for _, s := range settings {
		fmt.Fprintf(&b, "%s = %s\n", s[0], s[1])
	}
	path := filepath.Join(c.dataDir, configFile)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("pgcluster: write %s: %w", path, err)
	}
	if err := c.runAs.own(path); err != nil {
		return err
	}
	return c.includeConfig()
}

// includeConfig makes postgresql.conf include configFile, once.
func (c *Cluster) includeConfig() error {
	main := filepath.Join(c.dataDir, "postgresql.conf")
	content, err := os.ReadFile(main)
	if err != nil {
		return fmt.Errorf("pgcluster: read %s: %w", main, err)
	}
	line := []byte("include = " + quote(configFile) + "\n")
	if bytes.Contains(content, line) {
		return nil
	}
	f, err := os.OpenFile(main, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgcluster: open %s: %w", main, err)
	}
	if _, err := f.Write(append([]byte("\n"), line...)); err != nil {
		f.Close()
		return fmt.Errorf("pgcluster: append to %s: %w", main, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("pgcluster: close %s: %w", main, err)
	}
	return nil
}

// quote makes s a postgresql.conf string literal.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

package pgcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// serverBinaries are the programs Start runs; a bin dir must hold all of them.
var serverBinaries = []string{"initdb", "pg_ctl", "postgres"}

// debianBinGlob is where Debian and Ubuntu install one directory per major version.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// FindBinDir returns the directory holding the PostgreSQL server binaries:
// explicit if not empty, else $PG_BIN, else the highest version under
// /usr/lib/postgresql/*/bin, else `pg_config --bindir`, else the directory of
// initdb on $PATH. It returns an error wrapping ErrNoBinaries when none holds
// them.
func FindBinDir(ctx context.Context, explicit string) (string, error) {
	if explicit != "" {
		return checkBinDir(explicit, "Options.BinDir")
	}
	if dir := os.Getenv("PG_BIN"); dir != "" {
		return checkBinDir(dir, "PG_BIN")
	}
	for _, dir := range debianBinDirs() {
		if hasBinaries(dir) {
			return dir, nil
		}
	}
	if pgConfig, err := exec.LookPath("pg_config"); err == nil {
		out, err := exec.CommandContext(ctx, pgConfig, "--bindir").Output()
		if dir := strings.TrimSpace(string(out)); err == nil && hasBinaries(dir) {
			return dir, nil
		}
	}
	if initdb, err := exec.LookPath("initdb"); err == nil {
		if dir := filepath.Dir(initdb); hasBinaries(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("pgcluster: searched PG_BIN, %s, pg_config --bindir and PATH: %w", debianBinGlob, ErrNoBinaries)
}

func checkBinDir(dir, source string) (string, error) {
	if !hasBinaries(dir) {
		return "", fmt.Errorf("pgcluster: %s=%s lacks one of %v: %w", source, dir, serverBinaries, ErrNoBinaries)
	}
	return dir, nil
}

func hasBinaries(dir string) bool {
	for _, name := range serverBinaries {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// debianBinDirs returns the Debian per-version bin dirs, highest version first.
func debianBinDirs() []string {
	dirs, _ := filepath.Glob(debianBinGlob)
	slices.SortFunc(dirs, func(a, b string) int {
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	return dirs
}

// compareVersions compares dotted numeric versions ("9.6" < "15" < "16.1");
// parts that are not numbers compare as 0.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

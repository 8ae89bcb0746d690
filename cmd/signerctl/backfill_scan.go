package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// backfillItem is one existing app version to sign.
type backfillItem struct {
	appKey, version string
	path            string // the archive
	size            int64
}

// sigPath is where the item's signature file goes: next to the archive.
func (it backfillItem) sigPath() string { return it.path + ".sig" }

// scanBackfill finds the archives under dir by the backfill layout
//
//	DIR/<app-key>/<version>/<archive>
//
// with exactly one archive (any file not ending in .sig or .tmp) per
// version directory. Archives that already have a .sig file are skipped:
// that is what makes a second run resume. It returns the items to sign and
// the number skipped, or every layout problem found at once.
func scanBackfill(dir string) (todo []backfillItem, skipped int, err error) {
	apps, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("backfill: read %s: %w", dir, err)
	}
	var problems []string
	for _, app := range apps {
		if !app.IsDir() {
			problems = append(problems, fmt.Sprintf("%s: not a directory (want DIR/<app-key>/<version>/<archive>)", app.Name()))
			continue
		}
		versions, err := os.ReadDir(filepath.Join(dir, app.Name()))
		if err != nil {
			return nil, 0, fmt.Errorf("backfill: %w", err)
		}
		for _, v := range versions {
			rel := filepath.Join(app.Name(), v.Name())
			if !v.IsDir() {
				problems = append(problems, fmt.Sprintf("%s: not a version directory", rel))
				continue
			}
			it, done, problem := scanVersion(dir, app.Name(), v.Name())
			switch {
			case problem != "":
				problems = append(problems, rel+": "+problem)
			case done:
				skipped++
			default:
				todo = append(todo, it)
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, 0, usagef("backfill: %s does not follow the layout:\n  %s", dir, strings.Join(problems, "\n  "))
	}
	return todo, skipped, nil
}

// scanVersion looks at one version directory.
func scanVersion(dir, appKey, version string) (it backfillItem, done bool, problem string) {
	vdir := filepath.Join(dir, appKey, version)
	entries, err := os.ReadDir(vdir)
	if err != nil {
		return it, false, err.Error()
	}
	var archives []os.DirEntry
	hasSig := map[string]bool{}
	for _, e := range entries {
		switch name := e.Name(); {
		case strings.HasSuffix(name, ".sig"):
			hasSig[strings.TrimSuffix(name, ".sig")] = true
		case strings.HasSuffix(name, ".tmp"):
		case e.Type().IsRegular():
			archives = append(archives, e)
		}
	}
	if len(archives) != 1 {
		return it, false, fmt.Sprintf("%d archives, want exactly 1", len(archives))
	}
	info, err := archives[0].Info()
	if err != nil {
		return it, false, err.Error()
	}
	it = backfillItem{appKey: appKey, version: version, path: filepath.Join(vdir, archives[0].Name()), size: info.Size()}
	return it, hasSig[archives[0].Name()], ""
}

// idempotencyKey derives the item's key from what it signs, so a rerun
// after an interruption (even between the ledger commit and writing the
// .sig file) gets the recorded entry back instead of a second signature.
func (it backfillItem) idempotencyKey(track string, archiveSHA256 []byte) string {
	k := sha256.Sum256([]byte(strings.Join([]string{"backfill", it.appKey, it.version, track, hex.EncodeToString(archiveSHA256)}, "\x00")))
	return "backfill:" + hex.EncodeToString(k[:16])
}

// readArchive reads a small archive whole and returns it with its SHA-256.
func readArchive(path string) ([]byte, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(b)
	return b, sum[:], nil
}

// writeSigFile writes the signature file through a temp file and a rename,
// so an interrupted run never leaves a partial .sig that a rerun would skip.
func writeSigFile(path string, content []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, content, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

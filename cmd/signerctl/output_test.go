package main

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"
)

// outputFormats is every command's --output set, as docs/cli.md lists them.
var outputFormats = map[string][]string{
	"bundle verify":           {"text", "json"},
	"ca crl":                  {"text", "json"},
	"ca intermediate":         {"text", "json"},
	"ca keygen":               {"text", "json"},
	"ca root":                 {"text", "json"},
	"ca show":                 {"text", "json"},
	"ca signer":               {"text", "json"},
	"incident key-compromise": {"text", "json"},
	"key create":              {"table", "json"},
	"key list":                {"table", "json"},
	"key retire":              {"table", "json"},
	"key rotate":              {"table", "json"},
	"ledger export":           {"json", "csv"},
	"ledger list":             {"table", "json", "csv"},
	"ledger show":             {"table", "json"},
	"revoke cert":             {"text", "json"},
	"revoke key":              {"text", "json"},
	"revoke list":             {"text", "json"},
	"revoke signature":        {"text", "json"},
	"verify":                  {"text", "json"},
}

// TestOutputFlag: every command with --output has the documented set, its
// first value the default; shell completion offers exactly that set; any
// other value is a usage error (exit 2) naming the allowed values, before
// anything is read or any server is asked.
func TestOutputFlag(t *testing.T) {
	cmds := runnable(newRootCommand())
	var have []string
	for path, c := range cmds {
		if c.Flag("output") != nil {
			have = append(have, path)
		}
	}
	slices.Sort(have)
	if want := slices.Sorted(maps.Keys(outputFormats)); !slices.Equal(have, want) {
		t.Fatalf("commands with --output:\n got %q\nwant %q", have, want)
	}
	for path, formats := range outputFormats {
		t.Run(path, func(t *testing.T) {
			if def := cmds[path].Flag("output").DefValue; def != formats[0] {
				t.Errorf("default %q, want %q", def, formats[0])
			}

			var stdout, stderr bytes.Buffer
			args := append(strings.Fields(path), "--output", "")
			if code := Run(t.Context(), append([]string{"__complete"}, args...), &stdout, &stderr); code != exitOK {
				t.Fatalf("completion: exit %d: %s", code, stderr.String())
			}
			// Candidates one a line, then the directive (":4", no file completion).
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			if got := lines[:len(lines)-1]; !slices.Equal(got, formats) {
				t.Errorf("completion offers %q, want %q", got, formats)
			}
			if lines[len(lines)-1] != ":4" {
				t.Errorf("completion directive %q, want :4 (no file completion)", lines[len(lines)-1])
			}

			stdout.Reset()
			stderr.Reset()
			args = append(strings.Fields(path), "--server", "127.0.0.1:1", "--output", "yaml", "ARG")
			if cmds[path].Flag("server") == nil {
				args = append(strings.Fields(path), "--output", "yaml", "ARG")
			}
			code := Run(t.Context(), args, &stdout, &stderr)
			if code != exitUsage {
				t.Fatalf("--output yaml: exit %d, want %d (usage); stderr %q", code, exitUsage, stderr.String())
			}
			msg := stderr.String()
			if !strings.Contains(msg, `"yaml"`) || !strings.Contains(msg, strings.Join(formats, ", ")) {
				t.Errorf("--output yaml: message %q does not name the value and the allowed %q", msg, formats)
			}
		})
	}
}

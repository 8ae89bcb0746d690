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

			// Candidates one a line, then the directive (":4", no file completion).
			got, directive := complete(t, append(strings.Fields(path), "--output")...)
			if !slices.Equal(got, formats) {
				t.Errorf("completion offers %q, want %q", got, formats)
			}
			if directive != ":4" {
				t.Errorf("completion directive %q, want :4 (no file completion)", directive)
			}

			var stdout, stderr bytes.Buffer
			args := append(strings.Fields(path), "--server", "127.0.0.1:1", "--output", "yaml", "ARG")
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

// complete runs the shell's completion request for the value of the last
// flag in args and returns the candidates and the directive line.
func complete(t *testing.T, args ...string) (candidates []string, directive string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := Run(t.Context(), append(append([]string{"__complete"}, args...), ""), &stdout, &stderr); code != exitOK {
		t.Fatalf("completion %q: exit %d: %s", args, code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

// TestFlagValueCompletion: flags that take one of a fixed set of words
// complete to exactly that set, and never to file names.
func TestFlagValueCompletion(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"approval", "request", "--action"}, []string{"rotate-ca-key", "revoke-key", "revoke-ca-certificate", "revoke-signing-certificate"}},
		{[]string{"backfill", "--track"}, []string{"marketplace", "private-build"}},
		{[]string{"ca", "crl", "--form"}, []string{"der", "pem", "der,pem"}},
		{[]string{"ca", "intermediate", "--origin"}, []string{"marketplace", "private-build"}},
		{[]string{"ca", "keygen", "--backend"}, []string{"softkms", "sealedkms", "awskms", "pkcs11"}},
		{[]string{"ca", "signer", "--role"}, []string{"bundle", "revocation"}},
		{[]string{"key", "create", "--role"}, []string{"archive-signing", "ca", "ledger"}},
		{[]string{"key", "rotate", "--backend"}, []string{"softkms", "sealedkms", "awskms", "pkcs11"}},
		{[]string{"ledger", "export", "--revoked"}, []string{"yes", "no"}},
		{[]string{"ledger", "list", "--track"}, []string{"marketplace", "private-build"}},
		{[]string{"revoke", "crl", "--ca"}, []string{"root", "marketplace", "private-build"}},
		{[]string{"revoke", "key", "--reason"}, reasons()},
		{[]string{"sign", "--embed-cert"}, []string{"auto", "always", "never"}},
		{[]string{"sign", "--profile"}, []string{"upm", "digest-v1"}},
		{[]string{"verify", "--stale"}, []string{"warn", "fail"}},
	}
	for _, tc := range cases {
		got, directive := complete(t, tc.args...)
		if !slices.Equal(got, tc.want) || directive != ":4" {
			t.Errorf("%q completes to %q (%s), want %q (:4)", tc.args, got, directive, tc.want)
		}
	}
	if len(reasons()) == 0 {
		t.Fatal("no revocation reasons to complete")
	}
}

// TestCompletionScripts: `signerctl completion SHELL` prints the script
// docs/cli.md tells users to source.
func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		var stdout, stderr bytes.Buffer
		if code := Run(t.Context(), []string{"completion", shell}, &stdout, &stderr); code != exitOK {
			t.Fatalf("completion %s: exit %d: %s", shell, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "signerctl") || !strings.Contains(stdout.String(), "__complete") {
			t.Errorf("completion %s: no script for signerctl in %d bytes", shell, stdout.Len())
		}
	}
}

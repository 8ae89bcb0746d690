package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// connectingCommands are the commands that can talk to a server; every
// other command works offline. The list is written out, not derived from
// the code, so that a command that gains or loses a connection must be
// added here on purpose.
var connectingCommands = []string{
	"approval approve", "approval request", "approval show",
	"backfill",
	"bundle export", // without --roots/--intermediates the CAs come from the server
	"bundle get",
	"incident key-compromise",
	"key create", "key list", "key retire", "key rotate",
	"ledger checkpoint", "ledger export", "ledger list", "ledger prove", "ledger show", "ledger verify",
	"revoke cert", "revoke crl", "revoke key", "revoke list", "revoke publish", "revoke signature",
	"sign", // without --key
	"vendor certify",
	"verify", // with --ledger-entry, for a trusted signing time
}

// runnable lists every command of the tree that runs something, by its
// path below the root ("ledger verify").
func runnable(root *cobra.Command) map[string]*cobra.Command {
	out := map[string]*cobra.Command{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() {
			out[strings.TrimPrefix(c.CommandPath(), root.Name()+" ")] = c
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return out
}

// TestConnectionFlagsOnlyOnConnectingCommands walks the command tree: the
// commands that connect have every connection flag, offline ones (verify
// of a bundle, the ca commands, key generation, …) have none, so their
// help does not offer settings they would ignore.
func TestConnectionFlagsOnlyOnConnectingCommands(t *testing.T) {
	root := newRootCommand()
	root.InitDefaultCompletionCmd()
	cmds := runnable(root)
	for _, want := range connectingCommands {
		if _, ok := cmds[want]; !ok {
			t.Errorf("connecting command %q is not in the tree", want)
		}
	}
	offline := 0
	for path, c := range cmds {
		connects := slices.Contains(connectingCommands, path)
		if !connects {
			offline++
		}
		for _, name := range connFlagNames {
			if has := c.Flag(name) != nil; has != connects {
				t.Errorf("%s: has --%s = %v, want %v", path, name, has, connects)
			}
		}
		help := c.UsageString()
		if !connects && strings.Contains(help, "--tls-") {
			t.Errorf("%s: help offers TLS flags:\n%s", path, help)
		}
	}
	if offline < 11 {
		t.Fatalf("only %d offline commands found; the walk missed part of the tree", offline)
	}
}

// TestConnectionFlagOnOfflineCommand: a script that still passes a
// connection flag to an offline command gets a usage error that says why,
// whether the flag comes before or after the command's name.
func TestConnectionFlagOnOfflineCommand(t *testing.T) {
	cases := [][]string{
		{"vendor", "keygen", "--tls-ca", "ca.pem", "--out", "k"},
		{"--tls-cert", "c.pem", "ca", "show", "cert.pem"},
		{"bundle", "verify", "--server", "127.0.0.1:1", "--truststore", "ts", "b"},
	}
	for _, args := range cases {
		var stdout, stderr bytes.Buffer
		code := Run(t.Context(), args, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), "works offline and takes no connection flags") {
			t.Errorf("%q: exit %d, stderr %q; want exit %d saying the command works offline", args, code, stderr.String(), exitUsage)
		}
	}
}

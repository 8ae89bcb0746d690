package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestRequiredFlags: a command run without a flag it requires, with it
// given empty, or with a flag group broken (two of "exactly one", half of
// "together") stops with the usage status, names the flags, and does
// nothing (no server is dialled: the address refuses connections, which
// would exit 7).
func TestRequiredFlags(t *testing.T) {
	srv := []string{"--server", "127.0.0.1:1"}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"approval request without --target", append([]string{"approval", "request", "--action", "revoke-key"}, srv...), "--target"},
		{"bundle get without --out", append([]string{"bundle", "get"}, srv...), "--out"},
		{"bundle get with --out empty", append([]string{"bundle", "get", "--out", ""}, srv...), "--out"},
		{"bundle install without --truststore", []string{"bundle", "install", "b"}, "--truststore"},
		{"ca root without --config", []string{"ca", "root", "--key", "softkms:path=/k", "--cn", "r", "--out", "o"}, "--config"},
		{"ca intermediate without the parent", []string{"ca", "intermediate", "--config", "c", "--key", "softkms:path=/k", "--cn", "i", "--out", "o", "--origin", "marketplace"}, "--parent-cert"},
		{"ca signer without --role", []string{"ca", "signer", "--config", "c", "--parent-cert", "p.pem", "--parent-key", "softkms:path=/p", "--key", "softkms:path=/k", "--cn", "s", "--out", "o"}, "--role"},
		{"ca crl without --ca-key", []string{"ca", "crl", "--config", "c", "--ca-cert", "c.pem", "--number", "1", "--next-update", "1h", "--out", "o"}, "--ca-key"},
		{"custom init without --out", []string{"custom", "init"}, "--out"},
		{"key create without --backend", append([]string{"key", "create", "k"}, srv...), "--backend"},
		{"key retire without --version", append([]string{"key", "retire", "k"}, srv...), "--version"},
		{"revoke signature without --reason", append([]string{"revoke", "signature", "--sha256", "ab"}, srv...), "--reason"},
		{"revoke signature with both targets", append([]string{"revoke", "signature", "--reason", "superseded", "--sha256", "ab", "--ledger-entry", "1"}, srv...), "[ledger-entry sha256] were all set"},
		{"revoke signature without a target", append([]string{"revoke", "signature", "--reason", "superseded"}, srv...), "[ledger-entry sha256] is required"},
		{"revoke cert without --effective-from", append([]string{"revoke", "cert", "--cert", "c.pem"}, srv...), "--effective-from"},
		{"revoke cert --issuer without --serial", append([]string{"revoke", "cert", "--effective-from", "now", "--issuer", "CN=x"}, srv...), "missing [serial]"},
		{"revoke key with --cert and --fingerprint", append([]string{"revoke", "key", "--effective-from", "now", "--cert", "c", "--fingerprint", "ab"}, srv...), "[cert fingerprint] were all set"},
		{"revoke key with --cert empty", append([]string{"revoke", "key", "--effective-from", "now", "--cert", ""}, srv...), "--cert given empty"},
		{"revoke cert with --issuer empty", append([]string{"revoke", "cert", "--effective-from", "now", "--issuer", "", "--serial", "0a"}, srv...), "--issuer given empty"},
		{"revoke signature with --ledger-entry 0", append([]string{"revoke", "signature", "--reason", "superseded", "--ledger-entry", "0"}, srv...), "want a positive entry id"},
		{"revoke publish without --out", append([]string{"revoke", "publish"}, srv...), "--out"},
		{"revoke crl without --ca", append([]string{"revoke", "crl", "--out", "o"}, srv...), "--ca"},
		{"revoke show without --truststore", []string{"revoke", "show", "f"}, "--truststore"},
		{"vendor keygen without --out", []string{"vendor", "keygen"}, "--out"},
		{"vendor certify without --app-key", append([]string{"vendor", "certify", "--key", "k", "--out-cert", "c"}, srv...), "--app-key"},
		{"verify without --truststore", []string{"verify", "a.jar"}, "--truststore"},
		{"ledger verify with --max-problems 0", append([]string{"ledger", "verify", "--max-problems", "0"}, srv...), "--max-problems 0"},
		{"ledger verify with --max-problems -1", append([]string{"ledger", "verify", "--max-problems", "-1"}, srv...), "--max-problems -1"},
		{"bundle export --config without --key-uri", []string{"bundle", "export", "--key", "k", "--config", "c", "--signer-cert", "s", "--version", "1", "--out", "o"}, "missing [key-uri]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(t.Context(), tc.args, &stdout, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d naming %q", code, stderr.String(), exitUsage, tc.want)
			}
			if stdout.Len() != 0 {
				t.Fatalf("printed %q before refusing", stdout.String())
			}
		})
	}
}

package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleConfigIsValid(t *testing.T) {
	c, err := Load("../../docs/examples/signer.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Backends.Sealed == nil || c.Backends.Sealed.Region != "eu-west-1" || time.Duration(c.Backends.Sealed.RecheckInterval) != 30*time.Second {
		t.Fatalf("sealedkms section not read: %+v", c.Backends.Sealed)
	}
	if c.Keys.ArchiveSigning != "marketplace-signing" || c.Database.URLEnv != "DATABASE_URL" {
		t.Fatalf("keys/database not read: %+v %+v", c.Keys, c.Database)
	}
	if c.Keys.LedgerBackend != "awskms" || c.Database.MaxConns != 32 || c.Database.DevSetup {
		t.Fatalf("the example's first-start ledger key or pool size not read: %+v %+v", c.Keys, c.Database)
	}
}

const minimal = `
listen: 127.0.0.1:7443
backends:
  softkms: {dir: /var/lib/signer/keys}
keys: {archive_signing: signing}
trust: {roots: [/etc/signer/root.crt]}
auth: {policy_file: /etc/signer/policy.yaml}
`

// testWitnessKey is a cosignature/v1 verifier key.
const testWitnessKey = "witness.example/w1+e497321b+BExFQJzcXwT7IXW7i3O8XXwQ09yv9Jw9uy8P/OxuoqLn"

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string
	}{
		{"minimal loopback", minimal, ""},
		{"empty", "", "empty configuration"},
		{"unknown field", minimal + "colour: blue\n", "field colour not found"},
		{"plaintext off loopback", strings.Replace(minimal, "127.0.0.1:7443", "0.0.0.0:7443", 1), "tls: cert_file, key_file and client_ca_file are required"},
		{"half tls", minimal + "tls: {cert_file: /a.crt}\n", "set all of cert_file"},
		{"no backend", strings.Replace(minimal, "  softkms: {dir: /var/lib/signer/keys}\n", "  {}\n", 1), "configure at least one"},
		{"relative dir", strings.Replace(minimal, "/var/lib/signer/keys", "keys", 1), "must be an absolute path"},
		{"no archive key", strings.Replace(minimal, "keys: {archive_signing: signing}", "keys: {}", 1), "keys.archive_signing: required"},
		{"ca in unconfigured backend", strings.Replace(minimal, "keys: {archive_signing: signing}", "keys: {archive_signing: s, ca: {uri: 'awskms:key-id=x', certificate: /ca.crt}}", 1), "not configured under backends"},
		{"pin both ways", strings.Replace(minimal, "softkms: {dir: /var/lib/signer/keys}", "pkcs11: {module: /m.so, token: t, pin_file: /p, pin_env: P}", 1), "exactly one of pin_file or pin_env"},
		{"pin in uri refused", strings.Replace(minimal, "keys: {archive_signing: signing}", "keys: {archive_signing: s, ca: {uri: 'pkcs11:token=t;pin-value=1234', certificate: /ca.crt}}", 1), "secret"},
		{"bad duration", minimal + "shutdown_grace: soon\n", "not a duration"},
		{"bad log level", minimal + "log: {level: loud}\n", "log.level"},
		{"ledger key without a checkpoint dir", strings.Replace(minimal, "keys: {archive_signing: signing}", "keys: {archive_signing: signing, ledger: ledger}", 1), "ledger.checkpoint_dir: required with keys.ledger"},
		{"ledger key with a checkpoint dir", strings.Replace(minimal, "keys: {archive_signing: signing}", "keys: {archive_signing: signing, ledger: ledger}", 1) + "ledger: {checkpoint_dir: /srv/checkpoints}\n", ""},
		{"witness", minimal + "ledger: {checkpoint_dir: /srv/cp, witnesses: [{url: 'https://witness.example/w1', key: '" + testWitnessKey + "'}]}\n", ""},
		{"witness on loopback http", minimal + "ledger: {checkpoint_dir: /srv/cp, witnesses: [{url: 'http://127.0.0.1:7380', key: '" + testWitnessKey + "'}]}\n", ""},
		{"witness over plain http", minimal + "ledger: {checkpoint_dir: /srv/cp, witnesses: [{url: 'http://witness.example', key: '" + testWitnessKey + "'}]}\n", "plain http only to a loopback witness"},
		{"witness without a checkpoint dir", minimal + "ledger: {witnesses: [{url: 'https://witness.example', key: '" + testWitnessKey + "'}]}\n", "needs ledger.checkpoint_dir"},
		{"witness with an ed25519 key", minimal + "ledger: {checkpoint_dir: /srv/cp, witnesses: [{url: 'https://witness.example', key: 'witness.example/w1+e497321b+AUxFQJzcXwT7IXW7i3O8XXwQ09yv9Jw9uy8P/OxuoqLn'}]}\n", "ledger.witnesses[0].key"},
		{"relative checkpoint dir", minimal + "ledger: {checkpoint_dir: checkpoints}\n", "ledger.checkpoint_dir: \"checkpoints\" must be an absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.yaml))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %v, want error containing %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "1234") {
				t.Fatalf("error echoes a secret: %v", err)
			}
		})
	}
}

func TestLoadBackends(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		yaml     string
		wantSoft string
		wantErr  string
	}{
		{"the service's own file", minimal, "/var/lib/signer/keys", ""},
		{"backends only", "backends:\n  softkms: {dir: /srv/ceremony/keys}\n", "/srv/ceremony/keys", ""},
		{"unknown field", "backends:\n  softkms: {dir: /k, colour: blue}\n", "", "field colour not found"},
		{"no backend", "listen: 127.0.0.1:7443\n", "", "configure at least one"},
		{"relative dir", "backends:\n  softkms: {dir: keys}\n", "", "backends.softkms.dir"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("c%d.yaml", i))
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			b, err := LoadBackends(path)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %v, want error containing %q", err, tt.wantErr)
			case tt.wantErr == "" && (b.Soft == nil || b.Soft.Dir != tt.wantSoft):
				t.Fatalf("softkms section %+v, want dir %s", b.Soft, tt.wantSoft)
			}
		})
	}
}

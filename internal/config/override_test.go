package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOverridePrecedence: flag > environment > file > default, per field,
// and an override is validated like the file.
func TestOverridePrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "signer.yaml")
	if err := os.WriteFile(file, []byte(minimal+"metrics: {listen: 127.0.0.1:9090}\nlog: {level: warn}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	type want struct {
		listen, metrics, level string
		conns                  int
	}
	tests := []struct {
		name    string
		env     map[string]string
		flags   Overrides
		want    want
		wantErr string
	}{
		{"file and defaults", nil, Overrides{}, want{"127.0.0.1:7443", "127.0.0.1:9090", "warn", DefaultMaxConns}, ""},
		{"environment over file and default", map[string]string{
			EnvListen: "127.0.0.1:8443", EnvMetricsListen: "127.0.0.1:9191", EnvLogLevel: "debug", EnvDBMaxConns: "64",
		}, Overrides{}, want{"127.0.0.1:8443", "127.0.0.1:9191", "debug", 64}, ""},
		{"flag over environment", map[string]string{EnvListen: "127.0.0.1:8443", EnvDBMaxConns: "64", EnvLogLevel: "debug"},
			Overrides{Listen: "127.0.0.1:9443", DBMaxConns: 8}, want{"127.0.0.1:9443", "127.0.0.1:9090", "debug", 8}, ""},
		{"bad pool size in the environment", map[string]string{EnvDBMaxConns: "many"}, Overrides{}, want{}, "SIGNER_DB_MAX_CONNS"},
		{"zero pool size in the environment", map[string]string{EnvDBMaxConns: "0"}, Overrides{}, want{}, "positive"},
		{"bad level in the environment is validated", map[string]string{EnvLogLevel: "loud"}, Overrides{}, want{}, "log.level"},
		{"an override cannot open plaintext off loopback", map[string]string{EnvListen: "0.0.0.0:8443"}, Overrides{}, want{}, "tls: cert_file, key_file and client_ca_file are required"},
		{"nor a plaintext metrics listener", nil, Overrides{MetricsListen: "0.0.0.0:9090"}, want{}, "metrics.listen: 0.0.0.0:9090 is not a loopback address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadWithOverrides(file, func(k string) string { return tt.env[k] }, tt.flags)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := want{c.Listen, c.Metrics.Listen, c.Log.Level, c.Database.MaxConns}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestMetricsListener: the operations listener is plaintext on loopback
// only; off loopback it must be TLS with the server certificate and a list
// of scrapers.
func TestMetricsListener(t *testing.T) {
	const tlsOK = "tls: {cert_file: /s.crt, key_file: /s.key, client_ca_file: /ca.crt}\n"
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"loopback plaintext", minimal + "metrics: {listen: 127.0.0.1:9090}\n", ""},
		{"non-loopback plaintext refused", minimal + tlsOK + "metrics: {listen: 0.0.0.0:9090}\n", "not a loopback address: set metrics.tls: true"},
		{"all interfaces plaintext refused", minimal + tlsOK + "metrics: {listen: ':9090'}\n", "not a loopback address"},
		{"tls without the tls section", minimal + "metrics: {listen: 0.0.0.0:9090, tls: true, scrapers: [spiffe://appsign/ops/prometheus]}\n", "metrics.tls: needs tls.cert_file"},
		{"tls without scrapers", minimal + tlsOK + "metrics: {listen: 0.0.0.0:9090, tls: true}\n", "metrics.scrapers: list the SPIFFE IDs"},
		{"scraper not a SPIFFE ID", minimal + tlsOK + "metrics: {listen: 0.0.0.0:9090, tls: true, scrapers: [prometheus]}\n", "metrics.scrapers[0]"},
		{"scrapers on plaintext", minimal + "metrics: {listen: 127.0.0.1:9090, scrapers: [spiffe://appsign/ops/prometheus]}\n", "apply to a TLS listener only"},
		{"tls off loopback", minimal + tlsOK + "metrics: {listen: 0.0.0.0:9090, tls: true, scrapers: [spiffe://appsign/ops/prometheus]}\n", ""},
		{"tls on loopback", minimal + tlsOK + "metrics: {listen: 127.0.0.1:9090, tls: true, scrapers: [spiffe://appsign/ops/prometheus]}\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.yaml))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

package main

import (
	"strings"
	"testing"
	"time"
)

// TestParse checks the guard rails: loopback only, bounded runs, known modes.
func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults", nil, ""},
		{"batch", []string{"--mode", "batch", "--batch-size", "100"}, ""},
		{"ipv6 loopback", []string{"--server", "[::1]:7420"}, ""},
		{"off loopback", []string{"--server", "10.0.0.1:7420"}, "only talks to loopback"},
		{"unknown host", []string{"--server", "signer.example.com:7420"}, "only talks to loopback"},
		{"unbounded", []string{"--duration", "0"}, "must be bounded"},
		{"unknown mode", []string{"--mode", "stream"}, "use archive, digest or batch"},
		{"zero callers", []string{"--concurrency", "0"}, "must be positive"},
		{"bad format", []string{"--format", "xml"}, "use text or json"},
		{"mutual TLS", []string{"--tls-ca", "ca.crt", "--tls-cert", "c.crt", "--tls-key", "c.key"}, ""},
		{"TLS without a client certificate", []string{"--tls-ca", "ca.crt"}, "go together"},
		{"client certificate without a CA", []string{"--tls-cert", "c.crt", "--tls-key", "c.key"}, "go together"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(tc.args)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("parse(%q): %v", tc.args, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("parse(%q) = %v, want an error with %q", tc.args, err, tc.wantErr)
			}
		})
	}
}

// TestPercentile checks the nearest-rank percentiles the report prints.
func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	cases := []struct {
		p    float64
		want time.Duration
	}{{.50, 50 * time.Millisecond}, {.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}}
	for _, tc := range cases {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p*100, got, tc.want)
		}
	}
	if got := percentile(nil, .5); got != 0 {
		t.Errorf("percentile of nothing = %v, want 0", got)
	}
}

// TestBudget checks that a bounded run hands out exactly n requests.
func TestBudget(t *testing.T) {
	b := newBudget(3)
	n := 0
	for range 10 {
		if b.take() {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("budget of 3 handed out %d", n)
	}
}

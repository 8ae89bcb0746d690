package main

import (
	"bytes"
	"crypto/tls"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/appsign/signer/internal/transport/transporttest"
)

// TestMutualTLSHint: against a server that requires client certificates,
// a plaintext client and a TLS client without a certificate are told which
// flags to pass; a client with its certificate is not.
func TestMutualTLSHint(t *testing.T) {
	dir := t.TempDir()
	ca := transporttest.NewCA(t, "signer")
	caFile := ca.WriteCA(t, dir, "ca.crt")
	certFile, keyFile := transporttest.WritePair(t, dir, "client", ca.Client(t, "spiffe://appsign/auditor/alice"))
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{ca.Server(t)},
		ClientCAs:    ca.Pool(),
		ClientAuth:   tls.RequireAndVerifyClientCert,
	})))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	addr := lis.Addr().String()

	cases := []struct {
		name     string
		tls      []string
		wantHint bool
	}{
		{"plaintext", nil, true},
		{"TLS without a client certificate", []string{"--tls-ca", caFile}, true},
		{"mutual TLS", []string{"--tls-ca", caFile, "--tls-cert", certFile, "--tls-key", keyFile}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append(append([]string{}, tc.tls...), "key", "list", "--server", addr)
			code := Run(t.Context(), args, &stdout, &stderr)
			if code == exitOK {
				t.Fatalf("key list against a server without KeyService succeeded: %s", stdout.String())
			}
			if got := strings.Contains(stderr.String(), mutualTLSHint); got != tc.wantHint {
				t.Fatalf("exit %d, stderr %q: hint shown %v, want %v", code, stderr.String(), got, tc.wantHint)
			}
		})
	}
}

// TestNeedsMutualTLS: the ways a refused client-certificate handshake
// reaches the client; a broken pipe means it only when the client spoke
// TLS (a plaintext client's broken pipe is some other failure).
func TestNeedsMutualTLS(t *testing.T) {
	cases := []struct {
		name    string
		msg     string
		usedTLS bool
		want    bool
	}{
		{"plaintext against TLS", "error reading server preface: EOF", false, true},
		{"TLS 1.2 alert", "remote error: tls: certificate required", true, true},
		{"TLS 1.3 close under first write", "write tcp 127.0.0.1:1->127.0.0.1:2: write: broken pipe", true, true},
		{"TLS 1.3 reset", "read: connection reset by peer", true, true},
		{"plaintext broken pipe", "write: broken pipe", false, false},
		{"server down", "dial tcp 127.0.0.1:2: connect: connection refused", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := needsMutualTLS(tc.msg, tc.usedTLS); got != tc.want {
				t.Fatalf("needsMutualTLS(%q, %v) = %v, want %v", tc.msg, tc.usedTLS, got, tc.want)
			}
		})
	}
}

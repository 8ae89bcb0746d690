package transport_test

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"

	"github.com/appsign/signer/internal/transport"
	"github.com/appsign/signer/internal/transport/transporttest"
)

// fixture is a CA, a gRPC health server behind ServerTLS on 127.0.0.1 and
// the files a good client uses.
type fixture struct {
	ca                 *transporttest.CA
	addr               string
	caFile             string
	clientCrt, clientK string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	ca := transporttest.NewCA(t, "test CA")
	f := &fixture{ca: ca, caFile: ca.WriteCA(t, dir, "ca.pem")}
	srvCrt, srvKey := transporttest.WritePair(t, dir, "server", ca.Server(t))
	f.clientCrt, f.clientK = transporttest.WritePair(t, dir, "client", ca.Client(t, "spiffe://appsign/pipeline/review-1"))

	cfg, err := transport.ServerTLS(srvCrt, srvKey, f.caFile)
	if err != nil {
		t.Fatalf("ServerTLS: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(cfg)))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	f.addr = lis.Addr().String()
	return f
}

// handshake connects with cfg and reads the server's first bytes: a server
// that accepted the client sends its HTTP/2 settings, one that refused it
// sends an alert, which surfaces here as the error.
func handshake(t *testing.T, addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err != nil {
		return conn.ConnectionState(), err
	}
	return conn.ConnectionState(), nil
}

func TestServerTLSHandshakes(t *testing.T) {
	f := newFixture(t)
	good := f.ca.Client(t, "spiffe://appsign/pipeline/review-1")
	foreign := transporttest.NewCA(t, "other CA").Client(t, "spiffe://appsign/pipeline/review-1")
	// Go clients send only a certificate the server's CA list names; this
	// one sends the foreign certificate anyway, as an attacker would.
	sendForeign := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &foreign, nil }
	tests := []struct {
		name        string
		cfg         *tls.Config
		wantVersion uint16
		wantErr     string
	}{
		{"mtls prefers TLS 1.3", &tls.Config{RootCAs: f.ca.Pool(), Certificates: []tls.Certificate{good}, ServerName: "localhost"}, tls.VersionTLS13, ""},
		{"TLS 1.2 client accepted with an AEAD suite", &tls.Config{RootCAs: f.ca.Pool(), Certificates: []tls.Certificate{good}, ServerName: "localhost", MaxVersion: tls.VersionTLS12}, tls.VersionTLS12, ""},
		{"TLS 1.1 client refused", &tls.Config{RootCAs: f.ca.Pool(), Certificates: []tls.Certificate{good}, ServerName: "localhost", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, 0, "protocol version"},
		{"no client certificate refused", &tls.Config{RootCAs: f.ca.Pool(), ServerName: "localhost"}, 0, "certificate required"},
		{"client certificate from another CA refused", &tls.Config{RootCAs: f.ca.Pool(), GetClientCertificate: sendForeign, ServerName: "localhost"}, 0, "unknown certificate authority"},
		{"TLS 1.2 client without certificate refused", &tls.Config{RootCAs: f.ca.Pool(), ServerName: "localhost", MaxVersion: tls.VersionTLS12}, 0, "handshake failure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.NextProtos = []string{"h2"} // gRPC refuses connections without ALPN h2
			st, err := handshake(t, f.addr, tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("handshake error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if st.Version != tt.wantVersion {
				t.Fatalf("version = %s, want %s", tls.VersionName(st.Version), tls.VersionName(tt.wantVersion))
			}
			if name := tls.CipherSuiteName(st.CipherSuite); !strings.Contains(name, "GCM") && !strings.Contains(name, "CHACHA20_POLY1305") {
				t.Fatalf("cipher suite %s is not an AEAD", name)
			}
		})
	}
}

func TestClientTLSHealthCheck(t *testing.T) {
	f := newFixture(t)
	cfg, err := transport.ClientTLS(f.caFile, f.clientCrt, f.clientK, "localhost")
	if err != nil {
		t.Fatalf("ClientTLS: %v", err)
	}
	conn, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var p peer.Peer
	resp, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{}, grpc.Peer(&p))
	if err != nil {
		t.Fatalf("Check over mTLS: %v", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("status = %v", resp.GetStatus())
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || info.State.Version != tls.VersionTLS13 {
		t.Fatalf("peer auth info = %#v, want TLS 1.3", p.AuthInfo)
	}
}

func TestClientTLSRefusesUnknownServer(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	otherCA := transporttest.NewCA(t, "other CA").WriteCA(t, dir, "other.pem")
	cfg, err := transport.ClientTLS(otherCA, f.clientCrt, f.clientK, "localhost")
	if err != nil {
		t.Fatalf("ClientTLS: %v", err)
	}
	cfg.NextProtos = []string{"h2"}
	if _, err := handshake(t, f.addr, cfg); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Fatalf("handshake with a server from another CA: %v, want an unknown authority error", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	ca := transporttest.NewCA(t, "CA")
	caFile := ca.WriteCA(t, dir, "ca.pem")
	crt, key := transporttest.WritePair(t, dir, "srv", ca.Server(t))
	loose := filepath.Join(dir, "loose.key")
	copyFile(t, key, loose, 0o640)
	worldKey := filepath.Join(dir, "world.key")
	copyFile(t, key, worldKey, 0o604)
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("no certificates here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		load    func() error
		wantErr error
	}{
		{"server ok", func() error { _, err := transport.ServerTLS(crt, key, caFile); return err }, nil},
		{"server key readable by group", func() error { _, err := transport.ServerTLS(crt, loose, caFile); return err }, transport.ErrKeyPermissions},
		{"server key readable by others", func() error { _, err := transport.ServerTLS(crt, worldKey, caFile); return err }, transport.ErrKeyPermissions},
		{"server client CA file without certificates", func() error { _, err := transport.ServerTLS(crt, key, empty); return err }, transport.ErrNoCertificates},
		{"server missing key", func() error { _, err := transport.ServerTLS(crt, filepath.Join(dir, "nope"), caFile); return err }, os.ErrNotExist},
		{"client ok", func() error { _, err := transport.ClientTLS(caFile, crt, key, "localhost"); return err }, nil},
		{"client key readable by group", func() error { _, err := transport.ClientTLS(caFile, crt, loose, "localhost"); return err }, transport.ErrKeyPermissions},
		{"client CA file without certificates", func() error { _, err := transport.ClientTLS(empty, crt, key, "localhost"); return err }, transport.ErrNoCertificates},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.load()
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestServerTLSVersions(t *testing.T) {
	dir := t.TempDir()
	ca := transporttest.NewCA(t, "CA")
	crt, key := transporttest.WritePair(t, dir, "srv", ca.Server(t))
	cfg, err := transport.ServerTLS(crt, key, ca.WriteCA(t, dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("MinVersion %x, ClientAuth %v", cfg.MinVersion, cfg.ClientAuth)
	}
	for _, id := range cfg.CipherSuites {
		for _, s := range tls.InsecureCipherSuites() {
			if s.ID == id {
				t.Fatalf("insecure suite %s offered", s.Name)
			}
		}
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(to, mode); err != nil { // umask may have narrowed it
		t.Fatal(err)
	}
}

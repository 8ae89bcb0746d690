package auth_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/server"
	"github.com/appsign/signer/internal/transport/transporttest"
)

func TestMTLSAuthenticate(t *testing.T) {
	p := mustPolicy(t, testPolicy)
	leaf := func(uri string) *x509.Certificate {
		u, _ := url.Parse(uri)
		return &x509.Certificate{URIs: []*url.URL{u}}
	}
	tlsPeer := func(st tls.ConnectionState) context.Context {
		return peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1)}, AuthInfo: credentials.TLSInfo{State: st}})
	}
	tests := []struct {
		name    string
		ctx     context.Context
		want    string
		wantErr error
	}{
		{"no peer", context.Background(), "", auth.ErrNoCredentials},
		{"plaintext peer", peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}), "", auth.ErrNoCredentials},
		{"presented but unverified certificate", tlsPeer(tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf("spiffe://appsign/pipeline/review-1")}}), "", auth.ErrNoCredentials},
		{"verified known identity", tlsPeer(tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{leaf("spiffe://appsign/pipeline/review-1")}}}), "spiffe://appsign/pipeline/review-1", nil},
		{"verified unknown identity", tlsPeer(tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{leaf("spiffe://appsign/nobody/x")}}}), "", auth.ErrUnknownIdentity},
		{"verified malformed identity", tlsPeer(tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{leaf("spiffe://appsign/a/../b")}}}), "", auth.ErrInvalidSubject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := auth.NewMTLS(p).Authenticate(tt.ctx)
			if !errors.Is(err, tt.wantErr) || id.Subject != tt.want {
				t.Fatalf("Authenticate = %+v, %v; want subject %q, err %v", id, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestNewLoopbackRefusesOtherListeners(t *testing.T) {
	for _, addr := range []string{":7420", "0.0.0.0:7420", "10.0.0.1:7420", "signer.example.com:443"} {
		if _, err := auth.NewLoopback(addr, auth.DevIdentity()); !errors.Is(err, auth.ErrNotLoopback) {
			t.Errorf("NewLoopback(%q) = %v, want ErrNotLoopback", addr, err)
		}
	}
	if _, err := auth.NewLoopback("127.0.0.1:7420", auth.Identity{Subject: "dev"}); !errors.Is(err, auth.ErrInvalidSubject) {
		t.Errorf("NewLoopback with a malformed subject = %v", err)
	}
}

func TestLoopbackAuthenticate(t *testing.T) {
	a, err := auth.NewLoopback("127.0.0.1:0", auth.DevIdentity())
	if err != nil {
		t.Fatal(err)
	}
	lo := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	tests := []struct {
		name string
		p    *peer.Peer
		ok   bool
	}{
		{"plaintext loopback", &peer.Peer{Addr: lo, LocalAddr: lo}, true},
		{"plaintext IPv6 loopback", &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv6loopback}}, true},
		{"remote peer", &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(192, 168, 1, 9)}, LocalAddr: lo}, false},
		{"non-loopback local address", &peer.Peer{Addr: lo, LocalAddr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1)}}, false},
		{"TLS connection", &peer.Peer{Addr: lo, LocalAddr: lo, AuthInfo: credentials.TLSInfo{}}, false},
		{"unix socket", &peer.Peer{Addr: &net.UnixAddr{Name: "/tmp/s", Net: "unix"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := a.Authenticate(peer.NewContext(context.Background(), tt.p))
			if tt.ok != (err == nil) || tt.ok && id.Subject != auth.DevLoopbackSubject {
				t.Fatalf("Authenticate = %+v, %v; want ok %v", id, err, tt.ok)
			}
			if !tt.ok && !errors.Is(err, auth.ErrNotLoopback) {
				t.Fatalf("err = %v, want ErrNotLoopback", err)
			}
		})
	}
}

// TestDevServer: `signer dev` wiring (DevPolicy, loopback authenticator on a
// plaintext loopback listener) lets the developer call everything as the dev
// identity, including reflection; the same authenticator behind TLS refuses.
func TestDevServer(t *testing.T) {
	p := auth.DevPolicy()
	id, ok := p.LoopbackIdentity()
	if !ok {
		t.Fatal("DevPolicy has no loopback identity")
	}
	lb, err := auth.NewLoopback("127.0.0.1:0", id)
	if err != nil {
		t.Fatal(err)
	}
	a := auth.NewAuthorizer(p, lb, nil)
	opts := []grpc.ServerOption{grpc.ChainUnaryInterceptor(server.UnaryInterceptor(nil), a.UnaryServerInterceptor()), grpc.ChainStreamInterceptor(server.StreamInterceptor(nil), a.StreamServerInterceptor())}

	g := grpc.NewServer(opts...)
	register(g)
	if err := auth.CheckAllMethodsCovered(g, p); err != nil {
		t.Fatal(err)
	}
	conn := dialConn(t, serve(t, g), plaintext())
	resp, err := signerv1.NewSignerServiceClient(conn).SignDigest(t.Context(), &signerv1.SignDigestRequest{AppKey: "com.example.hello", Track: signerv1.Track_TRACK_MARKETPLACE})
	if err != nil || resp.GetKeyId() != auth.DevLoopbackSubject {
		t.Fatalf("SignDigest as dev = %v, %v", resp, err)
	}
	refl, err := conn.NewStream(t.Context(), &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, auth.ReflectionMethods()[0])
	if err != nil {
		t.Fatal(err)
	}
	_ = refl.SendMsg(&emptypb.Empty{})
	if err := refl.RecvMsg(&emptypb.Empty{}); status.Code(err) == codes.PermissionDenied || status.Code(err) == codes.Unauthenticated {
		t.Fatalf("reflection as dev: %v", err)
	}

	ca := transporttest.NewCA(t, "ca")
	tg := grpc.NewServer(append(opts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{ca.Server(t)}})))...)
	register(tg)
	tconn := dialConn(t, serve(t, tg), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})))
	_, err = signerv1.NewSignerServiceClient(tconn).SignDigest(t.Context(), &signerv1.SignDigestRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("loopback authenticator behind TLS: %v, want Unauthenticated", err)
	}
}

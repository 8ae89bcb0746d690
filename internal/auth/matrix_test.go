package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/auth/authtest"
	"github.com/appsign/signer/internal/server"
)

// TestEveryMethodRefusesAnonymousAndWrongRoles runs the matrix over mTLS
// against every service the signer registers.
func TestEveryMethodRefusesAnonymousAndWrongRoles(t *testing.T) {
	for _, tt := range []struct {
		name   string
		policy string
	}{
		{"reflection closed", testPolicy},
		{"reflection for security-admin", testPolicy + "reflection:\n  roles: [security-admin]\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPolicy(t, tt.policy)
			g, dial := mtlsServer(t, p)
			authtest.RunMatrix(t, g.GetServiceInfo(), p,
				authtest.Caller{Name: "no certificate", Conn: dial(), Anonymous: true},
				authtest.Caller{Name: "unknown identity", Conn: dial("spiffe://appsign/pipeline-evil/x"), Anonymous: true},
				authtest.Caller{Name: "other trust domain", Conn: dial("spiffe://evil/pipeline/review-1"), Anonymous: true},
				authtest.Caller{Name: "two URI SANs", Conn: dial("spiffe://appsign/pipeline/review-1", "spiffe://appsign/auditor/bob"), Anonymous: true},
				authtest.Caller{Name: "pipeline", Conn: dial("spiffe://appsign/pipeline/review-1"), Roles: []auth.Role{auth.RolePipeline}},
				authtest.Caller{Name: "vendor", Conn: dial("spiffe://appsign/vendor/acme/ci"), Roles: []auth.Role{auth.RoleVendor}},
				authtest.Caller{Name: "security-admin", Conn: dial("spiffe://appsign/security-admin/alice"), Roles: []auth.Role{auth.RoleSecurityAdmin}},
				authtest.Caller{Name: "auditor", Conn: dial("spiffe://appsign/auditor/bob"), Roles: []auth.Role{auth.RoleAuditor}},
				authtest.Caller{Name: "suspended", Conn: dial("spiffe://appsign/vendor/globex/ci"), Roles: []auth.Role{}},
			)
		})
	}
}

// TestMatrixOverPlaintext: the MTLS authenticator on a plaintext listener
// refuses everyone but public methods.
func TestMatrixOverPlaintext(t *testing.T) {
	p := mustPolicy(t, testPolicy)
	a := auth.NewAuthorizer(p, auth.NewMTLS(p), nil)
	g := grpc.NewServer(grpc.ChainUnaryInterceptor(server.UnaryInterceptor(nil), a.UnaryServerInterceptor()), grpc.ChainStreamInterceptor(server.StreamInterceptor(nil), a.StreamServerInterceptor()))
	register(g)
	conn := dialConn(t, serve(t, g), plaintext())
	for _, m := range auth.FullMethods(g) {
		acc, _ := p.Access(m)
		if acc.Public {
			continue
		}
		err := conn.Invoke(t.Context(), m, &emptypb.Empty{}, &emptypb.Empty{})
		if isStream(g, m) {
			s, serr := conn.NewStream(t.Context(), &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, m)
			if serr == nil {
				err = s.RecvMsg(&emptypb.Empty{})
			} else {
				err = serr
			}
		}
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s over plaintext: %v, want Unauthenticated", m, err)
		}
	}
}

func isStream(g *grpc.Server, full string) bool {
	for svc, info := range g.GetServiceInfo() {
		for _, mi := range info.Methods {
			if "/"+svc+"/"+mi.Name == full {
				return mi.IsClientStream || mi.IsServerStream
			}
		}
	}
	return false
}

// TestUnlistedMethodIsRefusedToEveryone registers a service missing from
// the method table: coverage fails and every caller is refused.
func TestUnlistedMethodIsRefusedToEveryone(t *testing.T) {
	p := mustPolicy(t, testPolicy)
	const method = "/signer.v1.Shadow/Leak"
	desc := grpc.ServiceDesc{
		ServiceName: "signer.v1.Shadow",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Leak", Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(context.Context, any) (any, error) { return &emptypb.Empty{}, nil }
			if ic == nil {
				return h(ctx, in)
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{FullMethod: method}, h)
		}}},
	}
	g, dial := mtlsServer(t, p, func(g *grpc.Server) { g.RegisterService(&desc, struct{}{}) })

	err := auth.CheckAllMethodsCovered(g, p)
	if !errors.Is(err, auth.ErrMethodNotCovered) || !strings.Contains(err.Error(), method) {
		t.Fatalf("CheckAllMethodsCovered = %v, want it to name %s", err, method)
	}
	for _, tt := range []struct {
		name string
		uris []string
		want codes.Code
	}{
		{"anonymous", nil, codes.Unauthenticated},
		{"pipeline", []string{"spiffe://appsign/pipeline/review-1"}, codes.PermissionDenied},
		{"security-admin", []string{"spiffe://appsign/security-admin/alice"}, codes.PermissionDenied},
		{"auditor", []string{"spiffe://appsign/auditor/bob"}, codes.PermissionDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := dial(tt.uris...).Invoke(t.Context(), method, &emptypb.Empty{}, &emptypb.Empty{})
			if status.Code(err) != tt.want {
				t.Fatalf("%s: %v, want %v", method, err, tt.want)
			}
		})
	}
}

package authtest

import (
	"context"
	"errors"
	"io"
	"slices"
	"sort"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/appsign/signer/internal/auth"
)

// CallTimeout bounds each call of the matrix, so a handler that waits for
// more input fails the call instead of hanging the test.
const CallTimeout = 10 * time.Second

// Caller is one way of reaching the server under test.
type Caller struct {
	// Name appears in subtest names.
	Name string
	// Conn reaches the server with this caller's credentials.
	Conn grpc.ClientConnInterface
	// Anonymous callers have no identity the server accepts (no client
	// certificate, or one the policy does not know): every method that is
	// not public must answer Unauthenticated.
	Anonymous bool
	// Roles the policy gives this caller. Methods that allow none of them
	// must answer PermissionDenied; methods without a request check that
	// allow one must not refuse the call (any code but Unauthenticated and
	// PermissionDenied: the handler may still reject the empty request).
	Roles []auth.Role
}

// RunMatrix calls every method in services as every caller, with an empty
// request message, and checks that:
//   - every method has an entry in p's method table (CheckAllMethodsCovered);
//   - anonymous callers get Unauthenticated from every non-public method;
//   - callers with none of a method's roles get PermissionDenied;
//   - callers with one of its roles are not refused (for methods without a
//     request check, whose outcome depends on the request);
//   - public methods refuse nobody;
//   - every non-public method was tried by at least one anonymous caller
//     and one caller with a wrong role, so the matrix cannot pass vacuously.
//
// Include a caller with an empty Roles list: it is the wrong-role caller
// of methods every role may call.
func RunMatrix(t *testing.T, services map[string]grpc.ServiceInfo, p *auth.Policy, callers ...Caller) {
	t.Helper()
	if err := auth.CheckAllMethodsCovered(infoMap(services), p); err != nil {
		t.Error(err)
	}
	for _, m := range methods(services) {
		acc, _ := p.Access(m.full)
		t.Run(m.full, func(t *testing.T) {
			var anonTried, wrongTried bool
			for _, c := range callers {
				code, err := call(t.Context(), c.Conn, m)
				switch {
				case acc.Public:
					if code == codes.Unauthenticated || code == codes.PermissionDenied {
						t.Errorf("%s: public method refused: %v", c.Name, err)
					}
				case c.Anonymous:
					anonTried = true
					if code != codes.Unauthenticated {
						t.Errorf("%s: code %v, want Unauthenticated (%v)", c.Name, code, err)
					}
				case !hasAny(c.Roles, acc.Roles):
					wrongTried = true
					if code != codes.PermissionDenied {
						t.Errorf("%s (roles %v): code %v, want PermissionDenied (%v)", c.Name, c.Roles, code, err)
					}
				case acc.Check == nil:
					if code == codes.Unauthenticated || code == codes.PermissionDenied {
						t.Errorf("%s (roles %v): allowed caller refused: %v", c.Name, c.Roles, err)
					}
				}
			}
			if !acc.Public && (!anonTried || !wrongTried) {
				t.Errorf("matrix incomplete: anonymous caller tried %v, wrong-role caller tried %v; add callers", anonTried, wrongTried)
			}
		})
	}
}

type method struct {
	full string
	desc grpc.StreamDesc
}

// methods lists every method, sorted, with how it streams.
func methods(services map[string]grpc.ServiceInfo) []method {
	var out []method
	for svc, info := range services {
		for _, mi := range info.Methods {
			out = append(out, method{
				full: "/" + svc + "/" + mi.Name,
				desc: grpc.StreamDesc{StreamName: mi.Name, ClientStreams: mi.IsClientStream, ServerStreams: mi.IsServerStream},
			})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].full < out[j].full })
	return out
}

// call makes one call with an empty message (valid for every protobuf
// request type) and returns its status code.
func call(ctx context.Context, conn grpc.ClientConnInterface, m method) (codes.Code, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	if !m.desc.ClientStreams && !m.desc.ServerStreams {
		err := conn.Invoke(ctx, m.full, &emptypb.Empty{}, &emptypb.Empty{})
		return status.Code(err), err
	}
	s, err := conn.NewStream(ctx, &m.desc, m.full)
	if err != nil {
		return status.Code(err), err
	}
	// A refused call may have ended before the message is sent: the error
	// that counts is the one RecvMsg reports.
	_ = s.SendMsg(&emptypb.Empty{})
	_ = s.CloseSend()
	err = s.RecvMsg(&emptypb.Empty{})
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return status.Code(err), err
}

func hasAny(have, want []auth.Role) bool {
	return slices.ContainsFunc(have, func(r auth.Role) bool { return slices.Contains(want, r) })
}

type infoMap map[string]grpc.ServiceInfo

func (m infoMap) GetServiceInfo() map[string]grpc.ServiceInfo { return m }

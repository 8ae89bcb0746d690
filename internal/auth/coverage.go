package auth

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc"
)

// ServiceInfoProvider is what CheckAllMethodsCovered needs of a server;
// *grpc.Server implements it.
type ServiceInfoProvider interface {
	GetServiceInfo() map[string]grpc.ServiceInfo
}

// FullMethods returns the full names ("/pkg.Service/Method") of every
// method srv serves, sorted.
func FullMethods(srv ServiceInfoProvider) []string {
	var out []string
	for svc, info := range srv.GetServiceInfo() {
		for _, m := range info.Methods {
			out = append(out, "/"+svc+"/"+m.Name)
		}
	}
	slices.Sort(out)
	return out
}

// CheckAllMethodsCovered returns an error wrapping ErrMethodNotCovered,
// naming every method srv serves that p's method table lacks. Such a method
// is refused to everyone at run time; this check turns that into a failing
// test or a refusal to start, so a new RPC gets a deliberate entry.
func CheckAllMethodsCovered(srv ServiceInfoProvider, p *Policy) error {
	var missing []string
	for _, m := range FullMethods(srv) {
		if _, ok := p.Access(m); !ok {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s (add them to auth.DefaultMethods)", ErrMethodNotCovered, strings.Join(missing, ", "))
	}
	return nil
}

package auth

import (
	"context"
	"slices"
	"strings"
)

// Identity is an authenticated caller: the SPIFFE ID from its client
// certificate and what the policy grants it.
type Identity struct {
	// Subject is the caller's SPIFFE ID, e.g. "spiffe://appsign/pipeline/review-1".
	Subject string
	// Roles granted by the policy; empty means the caller is known but may
	// call nothing except public methods (e.g. a suspended vendor).
	Roles []Role
	// Vendor names the vendor a RoleVendor identity acts for.
	Vendor string
	// AppKeyPrefixes are the app keys a RoleVendor identity may sign private
	// builds of. An entry matches the app key itself and every key below it:
	// "com.acme" matches "com.acme" and "com.acme.timesheets", not "com.acmex".
	AppKeyPrefixes []string
}

// Has reports whether id holds role r.
func (id Identity) Has(r Role) bool { return slices.Contains(id.Roles, r) }

// HasAny reports whether id holds at least one of roles.
func (id Identity) HasAny(roles []Role) bool {
	return slices.ContainsFunc(roles, id.Has)
}

// OwnsAppKey reports whether appKey is one of id's AppKeyPrefixes or lies
// below one of them.
func (id Identity) OwnsAppKey(appKey string) bool {
	for _, p := range id.AppKeyPrefixes {
		p = strings.TrimSuffix(p, ".")
		if p != "" && (appKey == p || strings.HasPrefix(appKey, p+".")) {
			return true
		}
	}
	return false
}

// clone returns a deep copy, so that callers cannot change the policy
// through the slices of an identity it handed out.
func (id Identity) clone() Identity {
	id.Roles = slices.Clone(id.Roles)
	id.AppKeyPrefixes = slices.Clone(id.AppKeyPrefixes)
	return id
}

type identityKey struct{}

// ContextWithIdentity returns a copy of ctx carrying id. The interceptors
// call it; tests of handlers may too.
func ContextWithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id.clone())
}

// IdentityFromContext returns the authenticated caller of a request. It
// reports false for public methods called without credentials and outside
// requests.
func IdentityFromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// Anonymous is what Caller returns for a request without an identity.
const Anonymous = "anonymous"

// Caller returns the subject of the request's identity, or Anonymous. It
// fits server.Config.Caller, which records who asked for each signature.
func Caller(ctx context.Context) string {
	if id, ok := IdentityFromContext(ctx); ok {
		return id.Subject
	}
	return Anonymous
}

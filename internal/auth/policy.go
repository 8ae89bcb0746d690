package auth

import (
	"maps"
	"strings"
)

// Policy maps caller identities to roles and methods to the roles that may
// call them. It is immutable and safe for concurrent use. Build it with
// ParsePolicy or LoadPolicy, or DevPolicy for development.
type Policy struct {
	trustDomain string
	exact       map[string]Identity
	prefixes    []prefixRule // longest first
	methods     MethodTable
	loopback    *Identity
}

type prefixRule struct {
	prefix string
	id     Identity
}

// TrustDomain returns the SPIFFE trust domain every identity belongs to.
func (p *Policy) TrustDomain() string { return p.trustDomain }

// Lookup returns the identity of subject: the rule with exactly this ID,
// else the rule with the longest prefix of it. It reports false when no rule
// applies. The returned Identity's Subject is always subject itself.
func (p *Policy) Lookup(subject string) (Identity, bool) {
	if id, ok := p.exact[subject]; ok {
		return id.clone(), true
	}
	if _, _, err := ParseSubject(subject); err != nil {
		return Identity{}, false
	}
	for _, r := range p.prefixes {
		if strings.HasPrefix(subject, r.prefix) {
			id := r.id.clone()
			id.Subject = subject
			return id, true
		}
	}
	return Identity{}, false
}

// Access returns the rule of a full method name ("/pkg.Service/Method").
// It reports false for methods missing from the table: those are refused
// to everyone.
func (p *Policy) Access(fullMethod string) (Access, bool) {
	a, ok := p.methods[fullMethod]
	return a, ok
}

// Methods returns a copy of the method table in force: DefaultMethods with
// the reflection setting of the policy file applied.
func (p *Policy) Methods() MethodTable { return maps.Clone(p.methods) }

// LoopbackIdentity returns the identity the policy gives callers on a
// plaintext loopback listener (see NewLoopback), if it names one.
func (p *Policy) LoopbackIdentity() (Identity, bool) {
	if p.loopback == nil {
		return Identity{}, false
	}
	return p.loopback.clone(), true
}

// DevLoopbackSubject is the subject of DevIdentity.
const DevLoopbackSubject = "spiffe://appsign/dev/loopback"

// DevIdentity is the identity of every caller of `signer dev`: all roles, so
// that a developer can try every RPC from the same shell.
func DevIdentity() Identity {
	return Identity{Subject: DevLoopbackSubject, Roles: AllRoles(), Vendor: "dev", AppKeyPrefixes: []string{"com.example"}}
}

// DevPolicy is the policy of `signer dev`: no certificate identities,
// DevIdentity for loopback callers, and reflection open to it (grpcurl).
// Use it only with the loopback authenticator.
func DevPolicy() *Policy {
	p := &Policy{trustDomain: "appsign", exact: map[string]Identity{}, methods: DefaultMethods()}
	for _, m := range ReflectionMethods() {
		p.methods[m] = Access{Roles: AllRoles()}
	}
	id := DevIdentity()
	p.loopback = &id
	return p
}

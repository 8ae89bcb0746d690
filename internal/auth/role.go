package auth

import "slices"

// Role is what an identity may do. Roles are granted by the policy file,
// never inferred from the identity's name.
type Role string

// The roles of the signer.
const (
	// RolePipeline is the marketplace review pipeline: it signs reviewed
	// marketplace apps, the only signatures the service makes.
	RolePipeline Role = "pipeline"
	// RoleVendor is a vendor's build system: it gets private-build
	// certificates for its own key, scoped to the app keys its policy entry
	// lists, and signs private builds with that key itself.
	RoleVendor Role = "vendor"
	// RoleSecurityAdmin manages keys, the CA and revocation.
	RoleSecurityAdmin Role = "security-admin"
	// RoleAuditor reads the ledger and its proofs.
	RoleAuditor Role = "auditor"
)

// AllRoles returns every role, in a fixed order.
func AllRoles() []Role {
	return []Role{RolePipeline, RoleVendor, RoleSecurityAdmin, RoleAuditor}
}

// Valid reports whether r is one of AllRoles.
func (r Role) Valid() bool { return slices.Contains(AllRoles(), r) }

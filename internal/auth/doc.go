// Package auth owns who may call the signer: caller identities, the policy
// that maps them to roles, the table that maps every RPC to the roles that
// may call it, the gRPC interceptors that enforce both, and the two-person
// rule (Approvals) for security-admin actions.
//
// # Identities
//
// A caller is identified by its TLS client certificate, verified against the
// client CA of the listener (transport.ServerTLS). The certificate must carry
// exactly one URI SAN, a SPIFFE ID (see ParseSubject for the exact grammar):
//
//	spiffe://<trust domain>/<kind>/<name>[/<more>]
//
//	spiffe://appsign/pipeline/review-1          the marketplace review pipeline
//	spiffe://appsign/vendor/acme/ci             a vendor's build system
//	spiffe://appsign/security-admin/alice       a security officer (signerctl)
//	spiffe://appsign/auditor/bob                an auditor
//
// The path is a naming convention only. Roles come from the policy file and
// nothing else: a certificate for spiffe://appsign/security-admin/mallory
// has no role unless the policy grants one. The subject DN and DNS SANs are
// ignored. The subject is what the ledger records as the caller.
//
// # Roles
//
//   - pipeline: signs reviewed marketplace archives and digests
//     (TRACK_MARKETPLACE, with a review_ref); the only role that gets the
//     service's marketplace-origin signatures.
//   - vendor: gets private-build certificates for its own key, scoped to
//     its own app keys (app_key_prefixes), and signs private builds itself;
//     the service signs nothing on a vendor's behalf.
//   - security-admin: keys, CA, revocation; reads the ledger.
//   - auditor: reads the ledger, its proofs and the key inventory.
//
// Every role may fetch the trust bundle. Health checks are public. Server
// reflection is refused to everyone unless the policy opens it. Any method
// missing from DefaultMethods is refused to everyone, and
// CheckAllMethodsCovered (run it in tests and at start-up) reports it.
//
// # Policy file
//
// YAML, strict: unknown fields, duplicate keys, duplicate identities and
// unknown roles are errors.
//
//	version: 1                    # format version, must be 1
//	trust_domain: appsign         # every id and prefix must be in it
//	identities:
//	  # An exact SPIFFE ID.
//	  - id: spiffe://appsign/pipeline/review-1
//	    roles: [pipeline]
//	  # Every ID under a path; a prefix ends with "/" so that it stops at a
//	  # segment boundary. An exact id beats a prefix; a longer prefix beats
//	  # a shorter one. Exactly one rule applies to a caller.
//	  - prefix: spiffe://appsign/auditor/
//	    roles: [auditor]
//	  - prefix: spiffe://appsign/security-admin/
//	    roles: [security-admin]
//	  # A vendor: its handle and the app keys it may sign private builds of.
//	  # "com.acme" covers com.acme and com.acme.*, never com.acmex.
//	  - id: spiffe://appsign/vendor/acme/ci
//	    roles: [vendor]
//	    vendor: acme
//	    app_key_prefixes: [com.acme]
//	  # A suspended identity (e.g. a compromised vendor account): known,
//	  # so it is refused with PermissionDenied, and may call nothing.
//	  - id: spiffe://appsign/vendor/globex/ci
//	    roles: []
//	# Optional: server reflection (grpcurl). Absent means nobody.
//	reflection:
//	  roles: [security-admin]     # or: public: true
//	# Optional: the identity of callers on a plaintext loopback listener
//	# (development only; see NewLoopback).
//	loopback:
//	  id: spiffe://appsign/dev/loopback
//	  roles: [pipeline, auditor]
//
// # Errors
//
// A caller without a verified client certificate, or whose identity is
// malformed or not in the policy, gets Unauthenticated. A known caller
// without the role, or whose request the method's check refuses (a vendor
// asking for a signature, anyone asking for a private build), gets PermissionDenied. Client messages are
// fixed texts; the log gets the method, the subject and the reason.
package auth

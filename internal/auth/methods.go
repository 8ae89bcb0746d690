package auth

import (
	"context"
	"fmt"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

// Access says who may call one method.
type Access struct {
	// Public methods need no identity at all (health checks). An identity
	// the caller does have is still put in the context.
	Public bool
	// Roles may call the method; holding any one suffices. An Access that is
	// neither Public nor has Roles refuses everyone: a deliberate "nobody".
	Roles []Role
	// Check, if set, runs after the role check with the request: the
	// request message of a unary call, the first message of a client or
	// bidirectional stream (before the handler sees it). An error refuses
	// the call with PermissionDenied; a *Denial's reason is shown to the
	// caller, any other error gets a generic message.
	Check RequestCheck
}

// RequestCheck decides on request-dependent rules, such as which apps a
// vendor may sign.
type RequestCheck func(ctx context.Context, id Identity, req any) error

// MethodTable maps full gRPC method names ("/signer.v1.SignerService/SignArchive")
// to who may call them. A method missing from the table is refused to
// everyone, so a new RPC is unreachable until it gets an entry here, and
// CheckAllMethodsCovered fails the tests until it does.
type MethodTable map[string]Access

// ReflectionMethods returns the server reflection methods. They are refused
// to everyone unless the policy file's reflection section opens them.
func ReflectionMethods() []string {
	return []string{
		reflectionv1.ServerReflection_ServerReflectionInfo_FullMethodName,
		reflectionv1alpha.ServerReflection_ServerReflectionInfo_FullMethodName,
	}
}

// DefaultMethods returns the method table of every RPC the signer serves.
// Entries name full methods, never whole services, so that adding a method
// to a service is a decision made here.
func DefaultMethods() MethodTable {
	signing := Access{Roles: []Role{RolePipeline, RoleVendor}, Check: checkSigning}
	anyRole := Access{Roles: AllRoles()}
	admin := Access{Roles: []Role{RoleSecurityAdmin}}
	readers := Access{Roles: []Role{RoleAuditor, RoleSecurityAdmin}}
	public := Access{Public: true}
	nobody := Access{}
	return MethodTable{
		signerv1.SignerService_SignArchive_FullMethodName:    signing,
		signerv1.SignerService_SignDigest_FullMethodName:     signing,
		signerv1.SignerService_GetTrustBundle_FullMethodName: anyRole,
		// Only the review pipeline may sign; each item is checked again by
		// the signing handlers (no private builds).
		signerv1.BatchService_SignBatch_FullMethodName: {Roles: []Role{RolePipeline}},

		signerv1.KeyService_CreateKey_FullMethodName: admin,
		signerv1.KeyService_RotateKey_FullMethodName: admin,
		signerv1.KeyService_RetireKey_FullMethodName: admin,
		signerv1.KeyService_ListKeys_FullMethodName:  readers,

		signerv1.ApprovalService_RequestApproval_FullMethodName: admin,
		signerv1.ApprovalService_Approve_FullMethodName:         admin,
		signerv1.ApprovalService_GetApproval_FullMethodName:     admin,

		signerv1.LedgerService_GetEntry_FullMethodName:                readers,
		signerv1.LedgerService_ListEntries_FullMethodName:             readers,
		signerv1.LedgerService_GetCheckpoint_FullMethodName:           readers,
		signerv1.LedgerService_ListCheckpoints_FullMethodName:         readers,
		signerv1.LedgerService_GetInclusionProof_FullMethodName:       readers,
		signerv1.LedgerService_GetConsistencyProof_FullMethodName:     readers,
		signerv1.LedgerService_StreamLogEntries_FullMethodName:        readers,
		signerv1.LedgerService_ListSigningCertificates_FullMethodName: readers,
		signerv1.LedgerService_StreamProjectionRows_FullMethodName:    readers,

		signerv1.TrustService_RevokeSignature_FullMethodName:       admin,
		signerv1.TrustService_RevokeCertificate_FullMethodName:     admin,
		signerv1.TrustService_RevokeKey_FullMethodName:             admin,
		signerv1.TrustService_PublishRevocationList_FullMethodName: admin,
		signerv1.TrustService_IssueCrl_FullMethodName:              admin,
		signerv1.TrustService_ListRevocations_FullMethodName:       readers,
		// Revocation data is public by nature: every verifier needs it.
		signerv1.TrustService_GetRevocationList_FullMethodName: anyRole,
		signerv1.TrustService_GetCrl_FullMethodName:            anyRole,
		// Vendors only, and only for app keys they own (checkVendorCertificate).
		signerv1.TrustService_IssueVendorCertificate_FullMethodName: {Roles: []Role{RoleVendor}, Check: checkVendorCertificate},

		healthpb.Health_Check_FullMethodName: public,
		healthpb.Health_Watch_FullMethodName: public,
		healthpb.Health_List_FullMethodName:  public,

		reflectionv1.ServerReflection_ServerReflectionInfo_FullMethodName:      nobody,
		reflectionv1alpha.ServerReflection_ServerReflectionInfo_FullMethodName: nobody,
	}
}

var denyVendorAppKeys = &Denial{"a private-build certificate may name only app keys your policy entry lists"}

// checkVendorCertificate is the request rule of IssueVendorCertificate: a
// vendor identity, with a vendor name, asking for app keys it owns.
func checkVendorCertificate(_ context.Context, id Identity, req any) error {
	r, ok := req.(*signerv1.IssueVendorCertificateRequest)
	if !ok {
		return fmt.Errorf("%w: no vendor-certificate rule for %T", ErrPermissionDenied, req)
	}
	if !id.Has(RoleVendor) || id.Vendor == "" || len(r.GetAppKeys()) == 0 {
		return denyVendorAppKeys
	}
	for _, k := range r.GetAppKeys() {
		if !id.OwnsAppKey(k) {
			return denyVendorAppKeys
		}
	}
	return nil
}

package auth_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/appsign/signer/internal/auth"
)

// TestDefaultMethods pins the method table: a change to who may call what
// must change this test too, in the same review.
func TestDefaultMethods(t *testing.T) {
	const (
		public  = "public"
		nobody  = "nobody"
		checked = "+check"
	)
	want := map[string][]string{
		"/signer.v1.SignerService/SignArchive":                           {"pipeline", "vendor", checked},
		"/signer.v1.SignerService/SignDigest":                            {"pipeline", "vendor", checked},
		"/signer.v1.SignerService/GetTrustBundle":                        {"pipeline", "vendor", "security-admin", "auditor"},
		"/signer.v1.KeyService/CreateKey":                                {"security-admin"},
		"/signer.v1.KeyService/RotateKey":                                {"security-admin"},
		"/signer.v1.KeyService/RetireKey":                                {"security-admin"},
		"/signer.v1.KeyService/ListKeys":                                 {"auditor", "security-admin"},
		"/signer.v1.LedgerService/GetEntry":                              {"auditor", "security-admin"},
		"/signer.v1.LedgerService/ListEntries":                           {"auditor", "security-admin"},
		"/signer.v1.LedgerService/GetCheckpoint":                         {"auditor", "security-admin"},
		"/signer.v1.LedgerService/ListCheckpoints":                       {"auditor", "security-admin"},
		"/signer.v1.LedgerService/GetInclusionProof":                     {"auditor", "security-admin"},
		"/signer.v1.LedgerService/GetConsistencyProof":                   {"auditor", "security-admin"},
		"/signer.v1.LedgerService/StreamLogEntries":                      {"auditor", "security-admin"},
		"/signer.v1.LedgerService/StreamProjectionRows":                  {"auditor", "security-admin"},
		"/signer.v1.LedgerService/ListSigningCertificates":               {"auditor", "security-admin"},
		"/signer.v1.ApprovalService/RequestApproval":                     {"security-admin"},
		"/signer.v1.ApprovalService/Approve":                             {"security-admin"},
		"/signer.v1.ApprovalService/GetApproval":                         {"security-admin"},
		"/signer.v1.BatchService/SignBatch":                              {"pipeline"},
		"/signer.v1.TrustService/RevokeSignature":                        {"security-admin"},
		"/signer.v1.TrustService/RevokeCertificate":                      {"security-admin"},
		"/signer.v1.TrustService/RevokeKey":                              {"security-admin"},
		"/signer.v1.TrustService/PublishRevocationList":                  {"security-admin"},
		"/signer.v1.TrustService/IssueCrl":                               {"security-admin"},
		"/signer.v1.TrustService/ListRevocations":                        {"auditor", "security-admin"},
		"/signer.v1.TrustService/GetRevocationList":                      {"pipeline", "vendor", "security-admin", "auditor"},
		"/signer.v1.TrustService/GetCrl":                                 {"pipeline", "vendor", "security-admin", "auditor"},
		"/signer.v1.TrustService/IssueVendorCertificate":                 {"vendor", checked},
		"/grpc.health.v1.Health/Check":                                   {public},
		"/grpc.health.v1.Health/Watch":                                   {public},
		"/grpc.health.v1.Health/List":                                    {public},
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      {nobody},
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": {nobody},
	}
	got := auth.DefaultMethods()
	if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
		t.Fatalf("methods = %v\nwant      %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	for m, acc := range got {
		var desc []string
		switch {
		case acc.Public:
			desc = []string{public}
		case len(acc.Roles) == 0:
			desc = []string{nobody}
		default:
			for _, r := range acc.Roles {
				desc = append(desc, string(r))
			}
		}
		if acc.Check != nil {
			desc = append(desc, checked)
		}
		if !slices.Equal(desc, want[m]) {
			t.Errorf("%s: %v, want %v", m, desc, want[m])
		}
	}
}

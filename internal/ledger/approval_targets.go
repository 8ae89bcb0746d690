package ledger

import (
	"math/big"
	"time"

	"github.com/appsign/signer/internal/auth"
)

// Actions that need a second security admin's approval, and whose
// approvals bind every parameter (auth.ApprovalTarget).
const (
	ActionRotateCAKey      = "rotate-ca-key"
	ActionRevokeKey        = "revoke-key"
	ActionRevokeCA         = "revoke-ca-certificate"
	ActionRevokeSigningCrt = "revoke-signing-certificate"
)

// approvalTime is the canonical form of a time in approval targets: UTC,
// at the microsecond precision the database keeps.
func approvalTime(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
}

// RevokeKeyApprovalTarget is the approval target of revoking the key with
// fingerprint fp (lowercase hex) from effectiveFrom with reason.
func RevokeKeyApprovalTarget(fp string, effectiveFrom time.Time, reason string) string {
	return auth.ApprovalTarget(map[string]string{"fingerprint": fp, "effective_from": approvalTime(effectiveFrom), "reason": reason})
}

// RevokeCertificateApprovalTarget is the approval target of revoking the
// certificate issuer/serial from effectiveFrom with reason. The serial is
// hex in any case, with or without leading zeros.
func RevokeCertificateApprovalTarget(issuer, serial string, effectiveFrom time.Time, reason string) string {
	n, ok := new(big.Int).SetString(serial, 16)
	if ok {
		serial = n.Text(16)
	}
	return auth.ApprovalTarget(map[string]string{"issuer": issuer, "serial": serial, "effective_from": approvalTime(effectiveFrom), "reason": reason})
}

// RotateCAKeyApprovalTarget is the approval target of rotating CA key name
// into backend scheme with attrs ("" scheme: the active version's).
func RotateCAKeyApprovalTarget(name, scheme string, attrs map[string]string) string {
	p := map[string]string{"key": name, "backend": scheme}
	for k, v := range attrs {
		p["backend."+k] = v
	}
	return auth.ApprovalTarget(p)
}

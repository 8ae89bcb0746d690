package main

import (
	"errors"
	"fmt"
	"math/big"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/ledger"
)

// errAwaitingApproval stops a run until a second admin approves.
var errAwaitingApproval = errors.New("waiting for a second security admin's approval")

// takeApprovalFlags files each --approval under its action, as the server
// says it is.
func (r *incidentRun) takeApprovalFlags() error {
	for _, id := range r.o.approvals {
		resp, err := signerv1.NewApprovalServiceClient(r.conn).GetApproval(r.cmd.Context(), &signerv1.GetApprovalRequest{Id: id})
		if err != nil {
			return rpcError("approval "+id, err)
		}
		r.st.Approvals[resp.GetApproval().GetAction()] = id
	}
	return nil
}

// approvalTargets are the actions the two revocations need approved, with
// their exact parameters (as the server computes them).
func (r *incidentRun) approvalTargets() map[string]string {
	return map[string]string{
		ledger.ActionRevokeKey:        ledger.RevokeKeyApprovalTarget(r.st.Fingerprint, r.st.From, r.st.Reason),
		ledger.ActionRevokeSigningCrt: ledger.RevokeCertificateApprovalTarget(r.st.CertIssuer, r.st.CertSerial, r.st.From, r.st.Reason),
	}
}

// needsApproval reports whether err is the server asking for a
// second admin (no approval given, or one not approved yet).
func needsApproval(err error) bool {
	st := status.Convert(err)
	return st.Code() == codes.FailedPrecondition &&
		(strings.Contains(st.Message(), "needs a second security admin") || strings.Contains(st.Message(), "not approved"))
}

// awaitApproval requests the approvals not yet requested (both at once, so
// the second admin reviews the whole incident in one sitting), saves their
// ids and prints what the second admin runs.
func (r *incidentRun) awaitApproval(cause error) error {
	targets := r.approvalTargets()
	w := r.cmd.OutOrStdout()
	for _, action := range []string{ledger.ActionRevokeKey, ledger.ActionRevokeSigningCrt} {
		if (action == ledger.ActionRevokeKey && r.st.Done[phaseRevokeKey]) || r.st.Approvals[action] != "" {
			continue
		}
		resp, err := signerv1.NewApprovalServiceClient(r.conn).RequestApproval(r.cmd.Context(), &signerv1.RequestApprovalRequest{
			Action: action, Target: targets[action], Reason: fmt.Sprintf("incident key-compromise: key %s v%d from %s", r.st.Key, r.st.KeyVersion, r.st.From.Format("2006-01-02T15:04:05.999999999Z07:00")),
		})
		if err != nil {
			return rpcError("request approval "+action, err)
		}
		r.st.Approvals[action] = resp.GetApproval().GetId()
		if err := r.save(); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "%s: %s\nA second security admin reviews and approves each:\n", errAwaitingApproval, status.Convert(cause).Message())
	for _, action := range []string{ledger.ActionRevokeKey, ledger.ActionRevokeSigningCrt} {
		id := r.st.Approvals[action]
		if id == "" {
			continue
		}
		resp, err := signerv1.NewApprovalServiceClient(r.conn).GetApproval(r.cmd.Context(), &signerv1.GetApprovalRequest{Id: id})
		if err != nil {
			return rpcError("approval "+id, err)
		}
		a := resp.GetApproval()
		fmt.Fprintf(w, "  %s  target %s\n    signerctl approval show %s\n    signerctl approval approve --params-sha256 %s %s\n", action, a.GetTarget(), id, a.GetParamsSha256(), id)
	}
	fmt.Fprintf(w, "then run this same command again: it continues from %s.\n", r.st.next())
	return withCode(exitError, errAwaitingApproval)
}

// revokeKey revokes the key from T, or adopts the revocation a previous,
// interrupted run (or an operator) already recorded from T or earlier.
func (r *incidentRun) revokeKey() error {
	rv, adopt, err := r.existingRevocation(func(v *signerv1.Revocation) bool {
		return v.GetKind() == signerv1.RevocationKind_REVOCATION_KIND_KEY && strings.EqualFold(v.GetKeyFingerprint(), r.st.Fingerprint)
	})
	if err != nil || adopt {
		if adopt {
			r.st.KeyRevocationID, r.st.KeyRevokedAt = rv.GetId(), rv.GetRevokedAt().AsTime()
			r.st.KeyAffectedTotal, err = r.countAffected(rv.GetId())
			r.logf("key already revoked from %s: revocation %d", rv.GetEffectiveFrom().AsTime().Format("2006-01-02T15:04:05.999999Z07:00"), rv.GetId())
		}
		return err
	}
	resp, err := signerv1.NewTrustServiceClient(r.conn).RevokeKey(r.cmd.Context(), &signerv1.RevokeKeyRequest{
		Certificate: []byte(r.st.CertPEM), EffectiveFrom: timestamppb.New(r.st.From), Reason: r.st.Reason, ApprovalId: r.st.Approvals[ledger.ActionRevokeKey],
	})
	if needsApproval(err) {
		return r.awaitApproval(err)
	}
	if err != nil {
		return rpcError("revoke key", err)
	}
	r.st.KeyRevocationID, r.st.KeyAffectedTotal = resp.GetRevocation().GetId(), resp.GetAffectedTotal()
	r.st.KeyRevokedAt = resp.GetRevocation().GetRevokedAt().AsTime()
	if rv != nil {
		// Moved earlier: the response counts this change; the report
		// checks the revocation's whole set.
		if r.st.KeyAffectedTotal, err = r.countAffected(r.st.KeyRevocationID); err != nil {
			return err
		}
	}
	r.logf("revoked key %s from %s: revocation %d, %d signature(s)", r.st.Fingerprint, r.st.From.Format("2006-01-02T15:04:05.999999Z07:00"), r.st.KeyRevocationID, r.st.KeyAffectedTotal)
	return nil
}

// revokeCert revokes the key version's certificate from T (customers'
// X.509-only verifiers see it in the CA's CRL).
func (r *incidentRun) revokeCert() error {
	serial, _ := new(big.Int).SetString(r.st.CertSerial, 16)
	rv, adopt, err := r.existingRevocation(func(v *signerv1.Revocation) bool {
		n, ok := new(big.Int).SetString(v.GetSerial(), 16)
		return v.GetKind() == signerv1.RevocationKind_REVOCATION_KIND_CERTIFICATE && v.GetIssuer() == r.st.CertIssuer && ok && n.Cmp(serial) == 0
	})
	if err != nil || adopt {
		if adopt {
			r.st.CertRevocationID = rv.GetId()
			r.st.CertAffectedTotal, err = r.countAffected(rv.GetId())
			r.logf("certificate already revoked: revocation %d", rv.GetId())
		}
		return err
	}
	resp, err := signerv1.NewTrustServiceClient(r.conn).RevokeCertificate(r.cmd.Context(), &signerv1.RevokeCertificateRequest{
		Certificate: []byte(r.st.CertPEM), EffectiveFrom: timestamppb.New(r.st.From), Reason: r.st.Reason, ApprovalId: r.st.Approvals[ledger.ActionRevokeSigningCrt],
	})
	if needsApproval(err) {
		return r.awaitApproval(err)
	}
	if err != nil {
		return rpcError("revoke certificate", err)
	}
	r.st.CertRevocationID, r.st.CertAffectedTotal = resp.GetRevocation().GetId(), resp.GetAffectedTotal()
	if rv != nil {
		if r.st.CertAffectedTotal, err = r.countAffected(r.st.CertRevocationID); err != nil {
			return err
		}
	}
	r.logf("revoked certificate %s serial %s: revocation %d, %d signature(s)", r.st.CertIssuer, r.st.CertSerial, r.st.CertRevocationID, r.st.CertAffectedTotal)
	return nil
}

// existingRevocation finds a recorded revocation matching is. adopt says
// its effective time is T or earlier: revoking again would change nothing
// (and would need another approval after an interruption that lost the
// answer). A later one is moved earlier by revoking again.
func (r *incidentRun) existingRevocation(is func(*signerv1.Revocation) bool) (*signerv1.Revocation, bool, error) {
	resp, err := signerv1.NewTrustServiceClient(r.conn).ListRevocations(r.cmd.Context(), &signerv1.ListRevocationsRequest{})
	if err != nil {
		return nil, false, rpcError("list revocations", err)
	}
	for _, v := range resp.GetRevocations() {
		if is(v) && v.GetEffectiveFrom() != nil {
			return v, !v.GetEffectiveFrom().AsTime().After(r.st.From), nil
		}
	}
	return nil, false, nil
}

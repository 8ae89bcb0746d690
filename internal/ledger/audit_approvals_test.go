package ledger_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/auth/approvalpg"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/revocation"
	"github.com/appsign/signer/internal/revocationstore"
	"github.com/appsign/signer/internal/translog"
)

// TestTwoPersonAuditCatchesRowEdits plays a database superuser who turns
// the triggers off to bend approvals between their logged steps; the
// two-person audit that `signerctl ledger verify` runs over the log names
// each bent approval and each revocation it authorized. An honest flow
// passes.
func TestTwoPersonAuditCatchesRowEdits(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	approvals := approvalpg.New(s.Pool(), auth.ApprovalOptions{})
	approvals.OnRequest, approvals.OnApprove, approvals.OnConsume = s.ApprovalHooks()
	revs := revocationstore.New(s.Pool(), revocationstore.Options{Hook: s.RevocationEventHook()})
	admin := func(name string) auth.Identity {
		return auth.Identity{Subject: "spiffe://appsign/security-admin/" + name, Roles: []auth.Role{auth.RoleSecurityAdmin}}
	}
	alice, bob := admin("alice"), admin("bob")
	from := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	none := func(revocationstore.SignedCert) bool { return false }
	superuser := func(sql string, args ...any) {
		t.Helper()
		dba(t, s, sql, args...)
	}
	request := func(fp string) (auth.Approval, string) {
		t.Helper()
		target := ledger.RevokeKeyApprovalTarget(fp, from, "key-compromise")
		a, err := approvals.Request(ctx, alice, auth.ApprovalRequest{Action: ledger.ActionRevokeKey, Target: target})
		if err != nil {
			t.Fatal(err)
		}
		return a, target
	}
	revoke := func(fp string, eff time.Time) {
		t.Helper()
		if _, _, _, err := revs.RevokeKey(ctx, fp, "", eff, revocation.ReasonKeyCompromise, alice.Subject, none); err != nil {
			t.Fatal(err)
		}
	}
	audit := func() []string {
		t.Helper()
		size := logSize(t, s)
		a := ledger.NewTwoPersonAudit()
		for e, err := range s.Log().Entries(ctx, 0, size) {
			if err != nil {
				t.Fatal(err)
			}
			a.Leaf(e.Index, e.Leaf)
		}
		var out []string
		for _, f := range a.Finish() {
			out = append(out, f.String())
		}
		return out
	}

	// Honest: requested, approved by bob, used, revoked with exactly those parameters.
	fp1 := strings.Repeat("1", 64)
	a, target := request(fp1)
	if _, err := approvals.Approve(ctx, bob, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := approvals.Consume(ctx, alice, a.ID, ledger.ActionRevokeKey, target); err != nil {
		t.Fatal(err)
	}
	revoke(fp1, from)
	if f := audit(); len(f) != 0 {
		t.Fatalf("honest flow: %v", f)
	}

	// Self-approval with the check dropped: the service refuses to use it.
	fp2 := strings.Repeat("2", 64)
	a2, target2 := request(fp2)
	superuser(`ALTER TABLE approvals DROP CONSTRAINT approvals_second_person`)
	superuser(`UPDATE approvals SET approved_by = requested_by, approved_at = requested_at WHERE id = $1`, a2.ID)
	if _, err := approvals.Consume(ctx, alice, a2.ID, ledger.ActionRevokeKey, target2); !errors.Is(err, auth.ErrSelfApproval) {
		t.Fatalf("use of a self-approved approval: %v, want ErrSelfApproval", err)
	}

	// A made-up second admin, written into the row: used, but no approval in the log.
	fp3 := strings.Repeat("3", 64)
	a3, target3 := request(fp3)
	superuser(`UPDATE approvals SET approved_by = 'spiffe://appsign/security-admin/mallory', approved_at = requested_at WHERE id = $1`, a3.ID)
	if _, err := approvals.Consume(ctx, alice, a3.ID, ledger.ActionRevokeKey, target3); err != nil {
		t.Fatal(err)
	}
	revoke(fp3, from)

	// Approved as asked, then backdated in the row: the use and the
	// revocation differ from what was requested and approved.
	fp4 := strings.Repeat("4", 64)
	a4, _ := request(fp4)
	if _, err := approvals.Approve(ctx, bob, a4.ID); err != nil {
		t.Fatal(err)
	}
	backdated := from.Add(-30 * 24 * time.Hour)
	bent := ledger.RevokeKeyApprovalTarget(fp4, backdated, "key-compromise")
	superuser(`UPDATE approvals SET target = $2, params_sha256 = $3 WHERE id = $1`, a4.ID, bent, auth.ApprovalParamsSHA256(ledger.ActionRevokeKey, bent))
	if _, err := approvals.Consume(ctx, alice, a4.ID, ledger.ActionRevokeKey, bent); err != nil {
		t.Fatal(err)
	}
	revoke(fp4, backdated)

	// A revocation nobody approved (written past the service).
	fp5 := strings.Repeat("5", 64)
	revoke(fp5, from)

	got := strings.Join(audit(), "\n")
	for _, want := range []string{
		"approval " + a3.ID + " is used, but no approval of it is in the log",
		"key " + fp3 + " (effective from",
		"approval " + a4.ID + " is used for",
		"key " + fp4 + " (effective from",
		"key " + fp5 + " (effective from",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("audit findings lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, fp1) || strings.Contains(got, a.ID) {
		t.Errorf("audit flags the honest approval:\n%s", got)
	}
}

// TestTwoPersonAuditCARotation: a CA key's rotation in the log must follow
// a used rotate-ca-key approval (or a dev waiver) for that key; another
// key's approval does not count, and an approval counts once.
func TestTwoPersonAuditCARotation(t *testing.T) {
	t.Parallel()
	at := auditAt
	leaf := func(ev ledger.Event) []byte { return eventLeaf(t, ev) }
	rotated := func(name string, v int32, role string) []byte {
		return leaf(ledger.KeyEvent(keystore.Event{Name: name, Version: v, Kind: keystore.EventRotated, Actor: "admin", At: at,
			Detail: keystore.EventDetail{Role: keystore.Role(role), BackendURI: "softkms:path=/k"}}))
	}
	leaves := approvalLeaves(t, strings.Repeat("ab", 16), ledger.ActionRotateCAKey, ledger.RotateCAKeyApprovalTarget("ledger-ca", "", nil), "")
	leaves = append(leaves,
		rotated("ledger-ca", 2, "ca"),                        // approved
		rotated("ledger-ca", 3, "ca"),                        // the approval is used up
		rotated("other-ca", 2, "ca"),                         // never approved
		rotated("marketplace-signing", 2, "archive-signing"), // needs none
		leaf(ledger.WaivedApprovalEvent(ledger.ActionRotateCAKey, ledger.RotateCAKeyApprovalTarget("dev-ca", "softkms", nil), "dev", at)),
		rotated("dev-ca", 2, "ca"), // waived in signer dev
	)
	checkTwoPersonFindings(t, leaves,
		"leaf 4: CA key ledger-ca was rotated without a used rotate-ca-key approval for it",
		"leaf 5: CA key other-ca was rotated without a used rotate-ca-key approval for it",
	)
}

var auditAt = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// eventLeaf is the log leaf of ev, appended at auditAt.
func eventLeaf(t *testing.T, ev ledger.Event) []byte {
	t.Helper()
	p, err := ledger.EncodeEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	return translog.EncodeLeaf(ev.Kind, p, auditAt)
}

// approvalLeaves are the leaves of approval id of action on target:
// requested by alice, approved by bob, then used naming usedApprover as
// its approver ("": bob).
func approvalLeaves(t *testing.T, id, action, target, usedApprover string) [][]byte {
	t.Helper()
	a := auth.Approval{ID: id, ApprovalRequest: auth.ApprovalRequest{Action: action, Target: target},
		RequestedBy: "spiffe://appsign/security-admin/alice", RequestedAt: auditAt, ExpiresAt: auditAt.Add(time.Hour)}
	a.ParamsSHA256 = auth.ApprovalParamsSHA256(action, target)
	var out [][]byte
	for _, act := range []string{ledger.ApprovalRequested, ledger.ApprovalApproved, ledger.ApprovalUsed} {
		step := a
		switch act {
		case ledger.ApprovalApproved:
			step.ApprovedBy, step.ApprovedAt = "spiffe://appsign/security-admin/bob", auditAt
		case ledger.ApprovalUsed:
			step.ApprovedBy, step.ApprovedAt, step.ConsumedAt = "spiffe://appsign/security-admin/bob", auditAt, auditAt
			if usedApprover != "" {
				step.ApprovedBy = usedApprover
			}
		}
		ev := ledger.ApprovalEvent(step)
		ev.Action, ev.At = act, auditAt
		switch act {
		case ledger.ApprovalRequested:
			ev.Actor = step.RequestedBy
		case ledger.ApprovalApproved:
			ev.Actor = step.ApprovedBy
		}
		out = append(out, eventLeaf(t, ev))
	}
	return out
}

// checkTwoPersonFindings runs the two-person audit over leaves (indexed
// from 0) and wants exactly the findings want, in order.
func checkTwoPersonFindings(t *testing.T, leaves [][]byte, want ...string) {
	t.Helper()
	a := ledger.NewTwoPersonAudit()
	for i, l := range leaves {
		a.Leaf(int64(i), l)
	}
	var got []string
	for _, f := range a.Finish() {
		got = append(got, f.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestTwoPersonAuditCertificateRevocations: the revocation of a
// certificate that a key version signs under (serials compared as
// numbers) must follow a used approval for exactly its issuer, serial,
// effective time and reason; moving it earlier needs another. A use that
// names another approver than the logged approval is named and authorizes
// nothing. A logged waiver counts as a used approval. A CA certificate's
// revocation needs no approval in the log.
func TestTwoPersonAuditCertificateRevocations(t *testing.T) {
	t.Parallel()
	eff := auditAt.Add(-time.Hour)
	signing := func(v int32, serial string) []byte {
		return eventLeaf(t, ledger.KeyEvent(keystore.Event{Name: "app-signing", Version: v, Kind: keystore.EventCreated, Actor: "alice", At: auditAt,
			Detail: keystore.EventDetail{Role: keystore.RoleArchiveSigning, BackendURI: "softkms:path=/k", CertSerial: serial}}))
	}
	revoked := func(id int64, action, issuer, serial string, from time.Time) []byte {
		r := revocationstore.Revocation{ID: id, Kind: revocationstore.KindCertificate, Issuer: issuer, Serial: serial,
			Reason: revocation.ReasonKeyCompromise, EffectiveFrom: from, RevokedAt: auditAt, RevokedBy: "alice"}
		return eventLeaf(t, ledger.RevocationEvent(revocationstore.Event{ID: id, RevocationID: id, Action: action, Reason: r.Reason,
			EffectiveFrom: from, Actor: "alice", At: auditAt, Revocation: r}))
	}
	bent := strings.Repeat("cd", 16)
	var leaves [][]byte
	leaves = append(leaves, signing(1, "0a1b"), signing(2, "c0ffee")) // 0, 1
	leaves = append(leaves, approvalLeaves(t, strings.Repeat("ab", 16), ledger.ActionRevokeSigningCrt,
		ledger.RevokeCertificateApprovalTarget("CN=ca", "A1B", eff, "key-compromise"), "")...) // 2-4
	leaves = append(leaves,
		revoked(1, "revoked", "CN=ca", "0A1B", eff),                       // 5: approved
		revoked(1, "moved-earlier", "CN=ca", "0A1B", eff.Add(-time.Hour)), // 6: the approval is used up
		revoked(2, "revoked", "CN=root", "ca01", eff),                     // 7: a CA certificate, no key signs under it
	)
	leaves = append(leaves, approvalLeaves(t, bent, ledger.ActionRevokeSigningCrt,
		ledger.RevokeCertificateApprovalTarget("CN=ca", "c0ffee", eff, "key-compromise"), "spiffe://appsign/security-admin/carol")...) // 8-10
	leaves = append(leaves, revoked(3, "revoked", "CN=ca", "c0ffee", eff)) // 11
	// One approval, used twice (a replayed leaf), authorizes one revocation.
	twice := strings.Repeat("ef", 16)
	earlier := eff.Add(-2 * time.Hour)
	steps := approvalLeaves(t, twice, ledger.ActionRevokeSigningCrt, ledger.RevokeCertificateApprovalTarget("CN=ca", "0a1b", earlier, "key-compromise"), "")
	leaves = append(leaves, append(steps, steps[2])...) // 12-15
	leaves = append(leaves,
		revoked(1, "moved-earlier", "CN=ca", "0A1B", earlier), // 16: approved
		revoked(4, "revoked", "CN=ca", "0A1B", earlier),       // 17: the approval is used up
	)
	// A logged waiver (signer dev, one operator) stands for a used approval.
	waived := eff.Add(-3 * time.Hour)
	leaves = append(leaves,
		eventLeaf(t, ledger.WaivedApprovalEvent(ledger.ActionRevokeSigningCrt, ledger.RevokeCertificateApprovalTarget("CN=ca", "c0ffee", waived, "key-compromise"), "dev", auditAt)), // 18
		revoked(3, "moved-earlier", "CN=ca", "c0ffee", waived), // 19: waived
	)

	missing := func(leaf, id int, serial string, from time.Time) string {
		return fmt.Sprintf("leaf %d: revocation %d of certificate %s (effective from %s, reason key-compromise) has no used approval for exactly these parameters (revoke-signing-certificate or revoke-ca-certificate)",
			leaf, id, serial, from.Format(time.RFC3339Nano))
	}
	checkTwoPersonFindings(t, leaves,
		missing(6, 1, "0A1B", eff.Add(-time.Hour)),
		fmt.Sprintf(`leaf 10: approval %s is used as approved by "spiffe://appsign/security-admin/carol", but "spiffe://appsign/security-admin/bob" approved it (leaf 9)`, bent),
		missing(11, 3, "c0ffee", eff),
		fmt.Sprintf("leaf 15: approval %s is used twice", twice),
		missing(17, 4, "0A1B", earlier),
	)
}

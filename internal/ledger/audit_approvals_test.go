package ledger_test

import (
	"errors"
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
	// superuser runs SQL with every trigger off, as a DBA can.
	superuser := func(sql string, args ...any) {
		t.Helper()
		tx, err := s.Pool().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
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
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	leaf := func(ev ledger.Event) []byte {
		t.Helper()
		p, err := ledger.EncodeEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		return translog.EncodeLeaf(ev.Kind, p, at)
	}
	rotated := func(name string, v int32, role string) []byte {
		return leaf(ledger.KeyEvent(keystore.Event{Name: name, Version: v, Kind: keystore.EventRotated, Actor: "admin", At: at,
			Detail: keystore.EventDetail{Role: keystore.Role(role), BackendURI: "softkms:path=/k"}}))
	}
	approval := auth.Approval{ID: strings.Repeat("ab", 16), ApprovalRequest: auth.ApprovalRequest{Action: ledger.ActionRotateCAKey,
		Target: ledger.RotateCAKeyApprovalTarget("ledger-ca", "", nil)}, RequestedBy: "spiffe://appsign/security-admin/alice",
		RequestedAt: at, ExpiresAt: at.Add(time.Hour)}
	approval.ParamsSHA256 = auth.ApprovalParamsSHA256(approval.Action, approval.Target)
	approvedA := approval
	approvedA.ApprovedBy, approvedA.ApprovedAt = "spiffe://appsign/security-admin/bob", at
	usedA := approvedA
	usedA.ConsumedAt = at
	steps := func(a auth.Approval, actions ...string) [][]byte {
		var out [][]byte
		for _, act := range actions {
			ev := ledger.ApprovalEvent(a)
			ev.Action, ev.At = act, at
			switch act {
			case ledger.ApprovalRequested:
				ev.Actor = a.RequestedBy
			case ledger.ApprovalApproved:
				ev.Actor = a.ApprovedBy
			}
			out = append(out, leaf(ev))
		}
		return out
	}
	var leaves [][]byte
	leaves = append(leaves, steps(approval, ledger.ApprovalRequested)...)
	leaves = append(leaves, steps(approvedA, ledger.ApprovalApproved)...)
	leaves = append(leaves, steps(usedA, ledger.ApprovalUsed)...)
	leaves = append(leaves,
		rotated("ledger-ca", 2, "ca"),                        // approved
		rotated("ledger-ca", 3, "ca"),                        // the approval is used up
		rotated("other-ca", 2, "ca"),                         // never approved
		rotated("marketplace-signing", 2, "archive-signing"), // needs none
		leaf(ledger.WaivedApprovalEvent(ledger.ActionRotateCAKey, ledger.RotateCAKeyApprovalTarget("dev-ca", "softkms", nil), "dev", at)),
		rotated("dev-ca", 2, "ca"), // waived in signer dev
	)
	a := ledger.NewTwoPersonAudit()
	for i, l := range leaves {
		a.Leaf(int64(i), l)
	}
	var got []string
	for _, f := range a.Finish() {
		got = append(got, f.String())
	}
	want := []string{
		"leaf 4: CA key ledger-ca was rotated without a used rotate-ca-key approval for it",
		"leaf 5: CA key other-ca was rotated without a used rotate-ca-key approval for it",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

package ledger

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/translog"
)

// TwoPersonAudit checks the two-person rule from the log alone, whatever
// the approvals rows say now. Feed it every leaf in index order with Leaf,
// then read Finish. It checks that
//
//   - every approval was requested, approved and used in that order, each
//     step logged with the same parameters' hash, which is the hash of the
//     logged action and target (a row edited between steps shows here);
//   - the approver is not the requester (compared as auth.SameIdentity
//     does), and the use names the same two people as the steps before;
//   - an approval is used at most once;
//   - every revocation of a key, and of a certificate that a key version
//     signs under, follows the use of an approval (or a logged waiver, in
//     single-operator dev mode) for exactly its parameters: fingerprint or
//     issuer and serial, effective time and reason. Revocations of other
//     certificates (CAs) are checked the same way when an approval was used
//     for them;
//   - every rotation of a CA key follows the use of a rotate-ca-key
//     approval (or waiver) for that key.
type TwoPersonAudit struct {
	findings  []Finding
	requested map[string]approvalStep
	approved  map[string]approvalStep
	used      map[string]bool
	// pending holds used approvals and waivers not yet matched by the
	// action they authorize, by "<action> <target>".
	pending map[string]int
	// signingSerials are the certificate serials of key versions, from
	// the key leaves.
	signingSerials map[string]bool
}

type approvalStep struct {
	index   int64
	subject string
	d       ApprovalLogDetail
}

// NewTwoPersonAudit returns an empty audit.
func NewTwoPersonAudit() *TwoPersonAudit {
	return &TwoPersonAudit{requested: map[string]approvalStep{}, approved: map[string]approvalStep{}, used: map[string]bool{},
		pending: map[string]int{}, signingSerials: map[string]bool{}}
}

// Finish returns what the audit found, by leaf index.
func (a *TwoPersonAudit) Finish() []Finding { return a.findings }

func (a *TwoPersonAudit) add(index int64, format string, args ...any) {
	a.findings = append(a.findings, Finding{Index: index, Problem: fmt.Sprintf(format, args...)})
}

// Leaf checks one log leaf; leaves that do not decode are translog.Verify's
// and Audit's to report.
func (a *TwoPersonAudit) Leaf(index int64, raw []byte) {
	leaf, err := translog.DecodeLeaf(raw)
	if err != nil || leaf.Kind == translog.KindSignature {
		return
	}
	var ev struct {
		Action  string          `json:"action"`
		Subject string          `json:"subject"`
		Actor   string          `json:"actor"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(leaf.Payload, &ev) != nil {
		return
	}
	switch leaf.Kind {
	case translog.KindAdmin:
		a.admin(index, ev.Action, ev.Subject, ev.Actor, ev.Detail)
	case translog.KindKey:
		var d struct {
			CertSerial string `json:"cert_serial"`
			Role       string `json:"role"`
		}
		if json.Unmarshal(ev.Detail, &d) != nil {
			return
		}
		if d.CertSerial != "" {
			a.signingSerials[normSerial(d.CertSerial)] = true
		}
		if ev.Action == "rotated" && d.Role == "ca" {
			a.caRotation(index, ev.Subject)
		}
	case translog.KindRevocation:
		if ev.Action == "revoked" || ev.Action == "moved-earlier" {
			a.revocation(index, ev.Subject, ev.Detail)
		}
	}
}

func (a *TwoPersonAudit) admin(index int64, action, subject, actor string, detail json.RawMessage) {
	switch action {
	case ApprovalRequested, ApprovalApproved, ApprovalUsed, ApprovalWaived:
	default:
		return
	}
	act, target, ok := strings.Cut(subject, " ")
	if !ok {
		a.add(index, "%s: subject %q is not \"<action> <target>\"", action, subject)
		return
	}
	var d ApprovalLogDetail
	if err := json.Unmarshal(detail, &d); err != nil {
		a.add(index, "%s: detail does not decode: %v", action, err)
		return
	}
	if want := auth.ApprovalParamsSHA256(act, target); d.ParamsSHA256 != want {
		a.add(index, "%s %s: logged parameters' hash %q is not that of the logged action and target (%s)", action, d.ApprovalID, d.ParamsSHA256, want)
		return
	}
	if action == ApprovalWaived {
		a.pending[subject]++
		return
	}
	step := approvalStep{index: index, subject: subject, d: d}
	req, haveReq := a.requested[d.ApprovalID]
	switch action {
	case ApprovalRequested:
		if haveReq {
			a.add(index, "approval %s is requested twice (first at leaf %d)", d.ApprovalID, req.index)
			return
		}
		if actor != d.RequestedBy {
			a.add(index, "approval %s: logged by %q for requester %q", d.ApprovalID, actor, d.RequestedBy)
		}
		a.requested[d.ApprovalID] = step
		return
	}
	if !haveReq {
		a.add(index, "approval %s is %s but its request is not in the log", d.ApprovalID, strings.TrimPrefix(action, "approval-"))
		return
	}
	if subject != req.subject || d.ParamsSHA256 != req.d.ParamsSHA256 || d.RequestedBy != req.d.RequestedBy {
		a.add(index, "approval %s is %s for %q (hash %s, requested by %q), but was requested for %q (hash %s, by %q) at leaf %d",
			d.ApprovalID, strings.TrimPrefix(action, "approval-"), subject, d.ParamsSHA256, d.RequestedBy, req.subject, req.d.ParamsSHA256, req.d.RequestedBy, req.index)
		return
	}
	if d.ApprovedBy == "" || auth.SameIdentity(d.ApprovedBy, d.RequestedBy) {
		a.add(index, "approval %s: approved by %q, who requested it: the two-person rule needs a second person", d.ApprovalID, d.ApprovedBy)
		return
	}
	appr, haveAppr := a.approved[d.ApprovalID]
	switch action {
	case ApprovalApproved:
		if haveAppr {
			a.add(index, "approval %s is approved twice (first at leaf %d)", d.ApprovalID, appr.index)
			return
		}
		if actor != d.ApprovedBy {
			a.add(index, "approval %s: approval logged by %q for approver %q", d.ApprovalID, actor, d.ApprovedBy)
		}
		a.approved[d.ApprovalID] = step
	case ApprovalUsed:
		switch {
		case !haveAppr:
			a.add(index, "approval %s is used, but no approval of it is in the log", d.ApprovalID)
		case d.ApprovedBy != appr.d.ApprovedBy:
			a.add(index, "approval %s is used as approved by %q, but %q approved it (leaf %d)", d.ApprovalID, d.ApprovedBy, appr.d.ApprovedBy, appr.index)
		case a.used[d.ApprovalID]:
			a.add(index, "approval %s is used twice", d.ApprovalID)
		default:
			a.used[d.ApprovalID] = true
			a.pending[subject]++
		}
	}
}

// revocation matches a key or certificate revocation leaf with a used
// approval for exactly its parameters.
func (a *TwoPersonAudit) revocation(index int64, subject string, detail json.RawMessage) {
	var d struct {
		RevocationID  int64  `json:"revocation_id"`
		Reason        string `json:"reason"`
		EffectiveFrom string `json:"effective_from"`
	}
	if json.Unmarshal(detail, &d) != nil {
		return // the projections report undecodable revocation leaves
	}
	eff, err := time.Parse(time.RFC3339Nano, d.EffectiveFrom)
	if err != nil {
		return
	}
	var (
		actions  []string
		target   string
		required bool
		what     string
	)
	switch {
	case strings.HasPrefix(subject, "key "):
		fp := strings.TrimPrefix(subject, "key ")
		actions, target, required = []string{ActionRevokeKey}, RevokeKeyApprovalTarget(fp, eff, d.Reason), true
		what = "key " + fp
	case strings.HasPrefix(subject, "certificate "):
		serial, rest, ok := strings.Cut(strings.TrimPrefix(subject, "certificate "), " issuer ")
		issuer, err := strconv.Unquote(rest)
		if !ok || err != nil {
			return
		}
		actions = []string{ActionRevokeSigningCrt, ActionRevokeCA}
		target, required = RevokeCertificateApprovalTarget(issuer, serial, eff, d.Reason), a.signingSerials[normSerial(serial)]
		what = "certificate " + serial
	default:
		return
	}
	for _, act := range actions {
		if k := act + " " + target; a.pending[k] > 0 {
			a.pending[k]--
			return
		}
	}
	if required {
		a.add(index, "revocation %d of %s (effective from %s, reason %s) has no used approval for exactly these parameters (%s)",
			d.RevocationID, what, d.EffectiveFrom, d.Reason, strings.Join(slices.Clone(actions), " or "))
	}
}

// caRotation matches the rotation of a CA key with a used rotate-ca-key
// approval (or waiver) for that key. The leaf records the new version's
// backend, not the backend as requested (empty: the active one's), so
// only the key is matched here; the server binds the rest.
func (a *TwoPersonAudit) caRotation(index int64, subject string) {
	name, _, ok := strings.Cut(strings.TrimPrefix(subject, "key "), " v")
	if !ok {
		return
	}
	prefix := ActionRotateCAKey + " "
	for k, n := range a.pending {
		if n == 0 || !strings.HasPrefix(k, prefix) {
			continue
		}
		var p map[string]string
		if json.Unmarshal([]byte(strings.TrimPrefix(k, prefix)), &p) == nil && p["key"] == name {
			a.pending[k]--
			return
		}
	}
	a.add(index, "CA key %s was rotated without a used %s approval for it", name, ActionRotateCAKey)
}

func normSerial(s string) string {
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		return strings.ToLower(s)
	}
	return n.Text(16)
}

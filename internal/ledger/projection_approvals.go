package ledger

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/appsign/signer/internal/translog"
)

// ApprovalDetail is the detail of an approval-used leaf.
type ApprovalDetail struct {
	ApprovalID  string `json:"approval_id"`
	Reason      string `json:"reason,omitempty"`
	RequestedBy string `json:"requested_by"`
	RequestedAt string `json:"requested_at"`
	ApprovedBy  string `json:"approved_by"`
	ApprovedAt  string `json:"approved_at"`
}

// approvalsProjection recomputes the used rows of approvals from the
// approval-used leaves. Requests not yet used change nothing and are not
// logged, so only rows with consumed_at set are compared (ReadProjections
// reads only those). The two-person rule's own checks (both identities,
// every bound parameter) extend Event here.
type approvalsProjection struct {
	used *rowSet
}

func newApprovalsProjection() *approvalsProjection {
	return &approvalsProjection{used: newRowSet(TableApprovals)}
}

func (p *approvalsProjection) Rows() map[string][]Row {
	return map[string][]Row{TableApprovals: p.used.list()}
}

func (p *approvalsProjection) Event(index int64, ev LoggedEvent) string {
	if ev.Kind != translog.KindAdmin || ev.Action != "approval-used" {
		return ""
	}
	var d ApprovalDetail
	// Not strict: the two-person rule's events may carry more than this.
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return fmt.Sprintf("approval event detail does not decode: %v", err)
	}
	action, target, ok := strings.Cut(ev.Subject, " ")
	if !ok {
		return fmt.Sprintf("approval event subject %q is not \"<action> <target>\"", ev.Subject)
	}
	reqAt, err1 := parseLoggedTime(d.RequestedAt)
	apprAt, err2 := parseLoggedTime(d.ApprovedAt)
	if err1 != nil || err2 != nil {
		return fmt.Sprintf("approval event times do not parse: %v %v", err1, err2)
	}
	if d.ApprovedBy == "" || d.ApprovedBy == d.RequestedBy {
		return fmt.Sprintf("approval %s was used without a second person (requested by %q, approved by %q)", d.ApprovalID, d.RequestedBy, d.ApprovedBy)
	}
	p.used.get(d.ApprovalID, index).Cols = map[string]string{"action": action, "target": target, "reason": d.Reason,
		"requested_by": d.RequestedBy, "requested_at": formatTime(reqAt), "approved_by": d.ApprovedBy,
		"approved_at": formatTime(apprAt), "consumed_at": formatTime(ev.At)}
	return ""
}

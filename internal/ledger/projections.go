package ledger

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/appsign/signer/internal/translog"
)

// Tables the projections recompute from the log.
const (
	TableRevocations        = "revocations"
	TableRevocationEvents   = "revocation_events"
	TableRevocationLists    = "revocation_lists"
	TableCRLs               = "crls"
	TableKeys               = "keys"
	TableKeyVersions        = "key_versions"
	TableKeyEvents          = "key_events"
	TableVendorCertificates = "vendor_certificates"
	TableApprovals          = "approvals"
)

// ProjectedTables lists every table Projector recomputes, in report order.
var ProjectedTables = []string{TableKeys, TableKeyVersions, TableKeyEvents, TableVendorCertificates,
	TableRevocations, TableRevocationEvents, TableRevocationLists, TableCRLs, TableApprovals}

// Row is one row of a SQL projection in canonical form: every column as a
// string (times in the payload layout, bytes and digests as lowercase hex,
// arrays comma-joined, NULL as ""). Rows recomputed from the log carry
// only the columns the log records; only those are compared.
type Row struct {
	Table string
	// Key is the row's primary key, e.g. "42" or "dev-signing v2".
	Key  string
	Cols map[string]string
	// Index is the leaf that last set the row (recomputed rows); -1 for
	// rows read from the database.
	Index int64
	// Data is the published document (revocation_lists, crls rows read
	// from the database), for content checks; not compared itself.
	Data []byte
}

// Projection recomputes one or more tables from the event leaves of the
// log. The approvals check of the two-person rule plugs in here.
type Projection interface {
	// Event applies one logged event of any kind but signature, in index
	// order; it returns what is wrong with the event, or "".
	Event(index int64, ev LoggedEvent) string
	// Rows returns the recomputed rows by table.
	Rows() map[string][]Row
}

// Projector feeds the event leaves of the log to every projection and
// then compares their rows with the database's.
type Projector struct {
	projections []Projection
	revs        *revocationsProjection
	// Events counts the event leaves applied.
	Events int64
	// Findings are the events that did not apply.
	Findings []Finding
}

// NewProjector returns a Projector over every table in ProjectedTables.
func NewProjector() *Projector {
	revs := newRevocationsProjection()
	return &Projector{revs: revs, projections: []Projection{newKeysProjection(), newCertificatesProjection(), revs, newApprovalsProjection()}}
}

// Leaf applies one log leaf (translog.Entry.Leaf at index). Signature
// leaves are the Audit's; leaves that do not decode are translog.Verify's
// to report.
func (p *Projector) Leaf(index int64, raw []byte) {
	if raw == nil {
		return
	}
	leaf, err := translog.DecodeLeaf(raw)
	if err != nil || leaf.Kind == translog.KindSignature {
		return
	}
	ev, err := DecodeEvent(leaf.Kind, leaf.Payload)
	if err != nil {
		p.Findings = append(p.Findings, Finding{Index: index, EntryID: 0, Problem: fmt.Sprintf("%s event does not decode: %v", leaf.Kind, err)})
		return
	}
	p.Events++
	for _, pr := range p.projections {
		if f := pr.Event(index, ev); f != "" {
			p.Findings = append(p.Findings, Finding{Index: index, Problem: f})
		}
	}
}

// Rows returns every recomputed row by table.
func (p *Projector) Rows() map[string][]Row {
	out := map[string][]Row{}
	for _, pr := range p.projections {
		for t, rows := range pr.Rows() {
			out[t] = append(out[t], rows...)
		}
	}
	return out
}

// Compare checks the database's rows (every table in ProjectedTables,
// as ReadProjections returns them) against the recomputed ones, and the
// published revocation lists against the revocations the log proved when
// each was published. It returns the findings, the Projector's own first.
func (p *Projector) Compare(db map[string][]Row) []Finding {
	out := slices.Clone(p.Findings)
	want := p.Rows()
	for _, t := range ProjectedTables {
		out = append(out, CompareRows(t, want[t], db[t])...)
	}
	out = append(out, p.revs.checkLists(db[TableRevocationLists])...)
	return out
}

// CompareRows names every row of table that the log has and got lacks,
// that got has and the log does not, and every column that differs.
func CompareRows(table string, want, got []Row) []Finding {
	byKey := make(map[string]Row, len(got))
	for _, r := range got {
		byKey[r.Key] = r
	}
	var out []Finding
	seen := make(map[string]bool, len(want))
	for _, w := range want {
		seen[w.Key] = true
		g, ok := byKey[w.Key]
		if !ok {
			out = append(out, Finding{Index: w.Index, Problem: fmt.Sprintf("%s %s is missing from the database (deleted behind the service)%s", table, w.Key, describe(w))})
			continue
		}
		var diffs []string
		for _, c := range slices.Sorted(maps.Keys(w.Cols)) {
			if gv := g.Cols[c]; gv != w.Cols[c] {
				diffs = append(diffs, fmt.Sprintf("%s is %q, the log says %q", c, gv, w.Cols[c]))
			}
		}
		if len(diffs) > 0 {
			out = append(out, Finding{Index: w.Index, Problem: fmt.Sprintf("%s %s differs from the log: %s", table, w.Key, strings.Join(diffs, "; "))})
		}
	}
	var extra []Row
	for _, g := range got {
		if !seen[g.Key] {
			extra = append(extra, g)
		}
	}
	slices.SortFunc(extra, func(a, b Row) int { return cmp.Or(cmp.Compare(len(a.Key), len(b.Key)), cmp.Compare(a.Key, b.Key)) })
	for _, g := range extra {
		out = append(out, Finding{Index: -1, Problem: fmt.Sprintf("%s %s: no log leaf records it (inserted behind the service)%s", table, g.Key, describe(g))})
	}
	return out
}

// describe names what a revocation row revokes, for a finding that says
// the row is missing or extra: an auditor reads which revocation, not
// only its id.
func describe(r Row) string {
	kind, target := r.Cols["kind"], r.Cols["target"]
	if kind == "" || target == "" {
		return ""
	}
	s := fmt.Sprintf(": %s %s", kind, strings.ReplaceAll(target, "\x1f", " serial "))
	if reason := r.Cols["reason"]; reason != "" {
		s += ", reason " + reason
	}
	if eff := r.Cols["effective_from"]; eff != "" {
		s += ", effective from " + eff
	}
	return s
}

// rowSet keeps recomputed rows by key in first-seen order.
type rowSet struct {
	table string
	keys  []string
	rows  map[string]*Row
}

func newRowSet(table string) *rowSet { return &rowSet{table: table, rows: map[string]*Row{}} }

// get returns the row key, created at index if new.
func (s *rowSet) get(key string, index int64) *Row {
	r, ok := s.rows[key]
	if !ok {
		r = &Row{Table: s.table, Key: key, Cols: map[string]string{}}
		s.rows[key] = r
		s.keys = append(s.keys, key)
	}
	r.Index = index
	return r
}

func (s *rowSet) list() []Row {
	out := make([]Row, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, *s.rows[k])
	}
	return out
}

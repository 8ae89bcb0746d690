package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/appsign/signer/internal/revocation"
	"github.com/appsign/signer/internal/revocationstore"
	"github.com/appsign/signer/internal/translog"
)

// revocationsProjection recomputes revocations, revocation_events,
// revocation_lists and crls from the revocation leaves, and remembers
// which revocations were in force when each list was published.
type revocationsProjection struct {
	revocations, events, lists, crls *rowSet
	// inForce is each list version's revocations as the log proved them
	// when it was published.
	inForce map[string][]Row
}

func newRevocationsProjection() *revocationsProjection {
	return &revocationsProjection{revocations: newRowSet(TableRevocations), events: newRowSet(TableRevocationEvents),
		lists: newRowSet(TableRevocationLists), crls: newRowSet(TableCRLs), inForce: map[string][]Row{}}
}

func (p *revocationsProjection) Rows() map[string][]Row {
	return map[string][]Row{TableRevocations: p.revocations.list(), TableRevocationEvents: p.events.list(),
		TableRevocationLists: p.lists.list(), TableCRLs: p.crls.list()}
}

func (p *revocationsProjection) tables() map[string][]Row { return p.Rows() }

func (p *revocationsProjection) Event(index int64, ev LoggedEvent) string {
	if ev.Kind != translog.KindRevocation {
		return ""
	}
	if ev.Action == "published" {
		return p.published(index, ev)
	}
	var d RevocationDetail
	if err := strictJSON(ev.Detail, &d); err != nil {
		return fmt.Sprintf("revocation event detail does not decode: %v", err)
	}
	eff, err := parseLoggedTime(d.EffectiveFrom)
	if err != nil {
		return fmt.Sprintf("revocation event effective_from: %v", err)
	}
	ids := make([]string, len(d.AffectedEntryIDs))
	for i, id := range d.AffectedEntryIDs {
		ids[i] = strconv.FormatInt(id, 10)
	}
	e := p.events.get(strconv.FormatInt(d.EventID, 10), index)
	e.Cols = map[string]string{"revocation_id": strconv.FormatInt(d.RevocationID, 10), "action": ev.Action, "reason": d.Reason,
		"effective_from": formatTime(eff), "affected_entry_ids": strings.Join(ids, ","), "actor": ev.Actor, "at": formatTime(ev.At)}

	r := p.revocations.get(strconv.FormatInt(d.RevocationID, 10), index)
	if s := d.Revocation; s != nil {
		r.Cols = map[string]string{"kind": s.Kind, "target": s.Target, "archive_sha256": s.ArchiveSHA256,
			"ledger_entry_id": idOrEmpty(s.LedgerEntryID), "issuer": s.Issuer, "serial": s.Serial, "fingerprint": s.Fingerprint,
			"subject": s.Subject, "reason": s.Reason, "effective_from": s.EffectiveFrom, "revoked_at": s.RevokedAt, "revoked_by": s.RevokedBy}
		return ""
	}
	// A leaf logged before details carried the row: what the event says.
	r.Cols["reason"], r.Cols["effective_from"] = d.Reason, formatTime(eff)
	if ev.Action == "revoked" {
		r.Cols["revoked_at"], r.Cols["revoked_by"] = formatTime(ev.At), ev.Actor
	}
	return ""
}

func (p *revocationsProjection) published(index int64, ev LoggedEvent) string {
	var d PublicationDetail
	if err := strictJSON(ev.Detail, &d); err != nil {
		return fmt.Sprintf("publication detail does not decode: %v", err)
	}
	cols := map[string]string{"issued_at": d.IssuedAt, "next_update": d.NextUpdate, "sha256": d.SHA256}
	switch d.Document {
	case revocationstore.DocumentList:
		key := strconv.FormatInt(d.Version, 10)
		cols["published_by"] = ev.Actor
		p.lists.get(key, index).Cols = cols
		p.inForce[key] = p.revocations.list()
	case revocationstore.DocumentCRL:
		cols["issued_by"] = ev.Actor
		p.crls.get(d.CA+" #"+strconv.FormatInt(d.Version, 10), index).Cols = cols
	default:
		return fmt.Sprintf("publication of unknown document %q", d.Document)
	}
	return ""
}

// checkLists checks each published list the database holds against the
// revocations the log proved when it was published: nothing the log had
// revoked is missing, and no effective time is later than the log's. The
// row's digest is compared with its leaf by CompareRows; here the content.
func (p *revocationsProjection) checkLists(db []Row) []Finding {
	var out []Finding
	for _, row := range db {
		inForce, ok := p.inForce[row.Key]
		if !ok || row.Data == nil {
			continue // reported as extra by CompareRows, or not served
		}
		sum := sha256.Sum256(row.Data)
		if hex.EncodeToString(sum[:]) != p.lists.rows[row.Key].Cols["sha256"] {
			continue // a different document: CompareRows names it
		}
		index := p.lists.rows[row.Key].Index
		signed, err := revocation.Parse(row.Data)
		if err != nil {
			out = append(out, Finding{Index: index, Problem: fmt.Sprintf("revocation list v%s does not parse: %v", row.Key, err)})
			continue
		}
		for _, f := range listMisses(signed.List, inForce) {
			out = append(out, Finding{Index: index, Problem: fmt.Sprintf("revocation list v%s: %s", row.Key, f)})
		}
	}
	return out
}

// listMisses names each revocation in inForce that l drops or weakens.
func listMisses(l *revocation.List, inForce []Row) []string {
	archives := map[string]bool{}
	for _, a := range l.Archives {
		archives[a.SHA256] = true
	}
	certs := map[string]time.Time{}
	for _, c := range l.Certificates {
		certs[c.Issuer+"\x1f"+c.Serial] = c.EffectiveFrom
	}
	keys := map[string]time.Time{}
	for _, k := range l.Keys {
		keys[k.Fingerprint] = k.EffectiveFrom
	}
	var out []string
	for _, r := range inForce {
		c := r.Cols
		eff, _ := parseLoggedTime(c["effective_from"])
		var listed time.Time
		var ok bool
		switch revocationstore.Kind(c["kind"]) {
		case revocationstore.KindArchive:
			if !archives[c["archive_sha256"]] {
				out = append(out, fmt.Sprintf("drops revocation %s of archive %s", r.Key, c["archive_sha256"]))
			}
			continue
		case revocationstore.KindCertificate:
			listed, ok = certs[c["issuer"]+"\x1f"+c["serial"]]
		case revocationstore.KindKey:
			listed, ok = keys[c["fingerprint"]]
		default:
			continue // a leaf without the row: the events are still compared
		}
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("drops revocation %s (%s %s)", r.Key, c["kind"], strings.ReplaceAll(c["target"], "\x1f", " ")))
		case listed.After(eff):
			out = append(out, fmt.Sprintf("revocation %s takes effect at %s, later than the logged %s", r.Key, formatTime(listed), formatTime(eff)))
		}
	}
	return out
}

// strictJSON decodes a leaf detail, refusing fields it does not know.
func strictJSON(b []byte, v any) error {
	if len(b) == 0 {
		return fmt.Errorf("no detail")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

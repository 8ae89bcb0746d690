package ledger

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/translog"
)

// KeyDetail is the detail of a key leaf: the key_events row's id and
// detail, and for a version being added when its backend key was made.
type KeyDetail struct {
	EventID int64 `json:"event_id"`
	keystore.EventDetail
	// CreatedAt is key_versions.created_at; absent from older leaves.
	CreatedAt string `json:"created_at,omitempty"`
}

// keysProjection recomputes keys, key_versions and key_events from the
// key leaves: a version is added active by created, imported or rotated,
// and moves to retired or revoked by the events of those names.
type keysProjection struct {
	keys, versions, events *rowSet
}

func newKeysProjection() *keysProjection {
	return &keysProjection{keys: newRowSet(TableKeys), versions: newRowSet(TableKeyVersions), events: newRowSet(TableKeyEvents)}
}

func (p *keysProjection) Rows() map[string][]Row {
	return map[string][]Row{TableKeys: p.keys.list(), TableKeyVersions: p.versions.list(), TableKeyEvents: p.events.list()}
}

func (p *keysProjection) Event(index int64, ev LoggedEvent) string {
	if ev.Kind != translog.KindKey {
		return ""
	}
	var name string
	var version int32
	if _, err := fmt.Sscanf(ev.Subject, "key %s v%d", &name, &version); err != nil {
		return fmt.Sprintf("key event subject %q is not \"key <name> v<version>\"", ev.Subject)
	}
	var d KeyDetail
	if err := strictJSON(ev.Detail, &d); err != nil {
		return fmt.Sprintf("key event detail does not decode: %v", err)
	}
	vkey := fmt.Sprintf("%s v%d", name, version)
	p.events.get(strconv.FormatInt(d.EventID, 10), index).Cols = map[string]string{
		"name": name, "version": strconv.Itoa(int(version)), "event": ev.Action, "actor": ev.Actor,
		"at": formatTime(ev.At), "detail": canonicalKeyDetail(d.EventDetail)}
	switch keystore.EventKind(ev.Action) {
	case keystore.EventCreated, keystore.EventImported, keystore.EventRotated:
		if _, ok := p.keys.rows[name]; !ok {
			if ev.Action == string(keystore.EventRotated) {
				return fmt.Sprintf("key %s is rotated before it was created", name)
			}
			p.keys.get(name, index).Cols = map[string]string{"role": string(d.Role), "created_at": formatTime(ev.At), "created_by": ev.Actor}
		}
		if _, ok := p.versions.rows[vkey]; ok {
			return fmt.Sprintf("key %s is added twice", vkey)
		}
		cols := map[string]string{"backend_uri": d.BackendURI, "public_key": d.PublicKey, "certificate_sha256": d.CertSHA256,
			"state": string(keystore.StateActive), "activated_at": formatTime(ev.At), "retired_at": "", "actor": ev.Actor}
		if d.CreatedAt != "" {
			cols["created_at"] = d.CreatedAt
		}
		p.versions.get(vkey, index).Cols = cols
	case keystore.EventRetired, keystore.EventRevoked:
		v, ok := p.versions.rows[vkey]
		if !ok {
			return fmt.Sprintf("key %s is %s before it was added", vkey, ev.Action)
		}
		v.Index = index
		if v.Cols["retired_at"] == "" {
			v.Cols["retired_at"] = formatTime(ev.At)
		}
		v.Cols["state"] = ev.Action
	default:
		return fmt.Sprintf("key event %q is not one the keystore writes", ev.Action)
	}
	return ""
}

// canonicalKeyDetail is a key_events.detail as encoding/json writes
// keystore.EventDetail: the form both the leaf and the jsonb column are
// compared in.
func canonicalKeyDetail(d keystore.EventDetail) string {
	b, err := json.Marshal(d)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

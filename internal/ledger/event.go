package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/translog"
)

// Event is a ledger event other than a signature: a revocation, a key or
// certificate event, an administrator's action. It becomes one log leaf
// whose payload is EncodeEvent(ev); the leaf also carries when it was
// logged. Events have no table of their own here: the store that owns the
// event (keystore, revocation) keeps its rows, the log keeps the proof.
type Event struct {
	// Kind is translog.KindRevocation, KindKey, KindCertificate or KindAdmin.
	Kind string
	// Action says what happened, e.g. "rotated", "revoked", "published".
	Action string
	// Subject names what it happened to, e.g. "key dev-signing v2",
	// "archive <sha256 hex>", "certificate <serial hex>".
	Subject string
	// Actor is the authenticated identity that caused it.
	Actor string
	// At is when it happened, as its owner recorded it.
	At time.Time
	// Detail is anything else worth proving, JSON-encodable (a struct or
	// map); nil for nothing. Never put secrets here: auditors read it.
	Detail any
}

// eventPayload is the canonical form of an Event. Field order is the JSON
// key order.
type eventPayload struct {
	V       int             `json:"v"`
	Action  string          `json:"action"`
	Subject string          `json:"subject"`
	Actor   string          `json:"actor"`
	At      string          `json:"at"`
	Detail  json.RawMessage `json:"detail,omitempty"`
}

// EncodeEvent returns the payload of the leaf recording ev: a JSON object
// {"v","action","subject","actor","at","detail"} in that order, at as RFC
// 3339 UTC with six fractional digits, detail as encoding/json writes it
// (struct fields in order, map keys sorted). The kind is the leaf's own.
func EncodeEvent(ev Event) ([]byte, error) {
	if !translog.ValidKind(ev.Kind) || ev.Kind == translog.KindSignature {
		return nil, fmt.Errorf("ledger: event kind %q: %w", ev.Kind, ErrInvalidEntry)
	}
	if ev.Action == "" || ev.Subject == "" || ev.Actor == "" || ev.At.IsZero() {
		return nil, fmt.Errorf("ledger: event needs an action, a subject, an actor and a time: %w", ErrInvalidEntry)
	}
	p := eventPayload{V: PayloadVersion, Action: ev.Action, Subject: ev.Subject, Actor: ev.Actor,
		At: ev.At.UTC().Truncate(time.Microsecond).Format(timeLayout)}
	if ev.Detail != nil {
		d, err := json.Marshal(ev.Detail)
		if err != nil {
			return nil, fmt.Errorf("ledger: event detail: %w: %w", ErrInvalidEntry, err)
		}
		p.Detail = d
	}
	return json.Marshal(p)
}

// AppendEvent appends ev to the log on its own, in the next batch, and
// returns its leaf index once committed. Use it for events that have no
// transaction of their own (an admin action, a published list); events
// written by another store's transaction use AppendEventTx.
func (s *Store) AppendEvent(ctx context.Context, ev Event) (int64, error) {
	payload, err := EncodeEvent(ev)
	if err != nil {
		return 0, err
	}
	a, err := s.Log().Append(ctx, ev.Kind, payload)
	if err != nil {
		return 0, wrap("append event", err)
	}
	return a.Index, nil
}

// AppendEventTx appends ev inside the caller's transaction tx: the event's
// own rows and its leaf commit together, or neither does. It holds the
// log's sequencer lock until tx ends (see translog.Log.AppendTx), so call
// it as the last statement of a short transaction. The index is final
// once tx commits.
func (s *Store) AppendEventTx(ctx context.Context, tx pgx.Tx, ev Event) (int64, error) {
	payload, err := EncodeEvent(ev)
	if err != nil {
		return 0, err
	}
	a, err := s.Log().AppendTx(ctx, tx, ev.Kind, payload)
	if err != nil {
		return 0, wrap("append event", err)
	}
	return a.Index, nil
}

package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// LoggedEvent is an Event as read back from its leaf: Detail stays raw
// JSON for the projection that owns the kind to decode.
type LoggedEvent struct {
	Kind    string
	Action  string
	Subject string
	Actor   string
	At      time.Time
	Detail  json.RawMessage
}

// DecodeEvent parses the payload of an event leaf of kind, as EncodeEvent
// wrote it. It accepts only the canonical encoding of the envelope.
func DecodeEvent(kind string, payload []byte) (LoggedEvent, error) {
	var p eventPayload
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return LoggedEvent{}, fmt.Errorf("%w: %w", ErrMalformedPayload, err)
	}
	if p.V != PayloadVersion {
		return LoggedEvent{}, fmt.Errorf("%w: version %d, want %d", ErrMalformedPayload, p.V, PayloadVersion)
	}
	at, err := time.Parse(timeLayout, p.At)
	if err != nil {
		return LoggedEvent{}, fmt.Errorf("%w: at: %w", ErrMalformedPayload, err)
	}
	return LoggedEvent{Kind: kind, Action: p.Action, Subject: p.Subject, Actor: p.Actor, At: at, Detail: p.Detail}, nil
}

// formatTime is how projections and event details write a time: the
// payload layout, or "" for the zero time (a NULL column).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Microsecond).Format(timeLayout)
}

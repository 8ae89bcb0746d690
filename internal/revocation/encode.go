package revocation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// TimeLayout is the only form of a time in the list: RFC 3339 in UTC with
// exactly six fractional digits.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// wireList is the JSON form of a List; field order is the encoding order.
type wireList struct {
	Format       string        `json:"format"`
	Issuer       string        `json:"issuer"`
	Version      uint64        `json:"version"`
	IssuedAt     string        `json:"issued_at"`
	NextUpdate   string        `json:"next_update"`
	Archives     []wireArchive `json:"archives"`
	Certificates []wireCert    `json:"certificates"`
	Keys         []wireKey     `json:"keys"`
}

type wireArchive struct {
	SHA256        string `json:"sha256"`
	Reason        Reason `json:"reason"`
	RevokedAt     string `json:"revoked_at"`
	LedgerEntryID int64  `json:"ledger_entry_id,omitempty"`
}

// Valid is present (possibly []) exactly on exact entries, so that an
// exact entry with no valid signature and an entry that is not exact have
// different bytes.
type wireCert struct {
	Issuer        string    `json:"issuer"`
	Serial        string    `json:"serial"`
	EffectiveFrom string    `json:"effective_from"`
	Reason        Reason    `json:"reason"`
	Valid         *[]string `json:"valid_signatures,omitempty"`
}

type wireKey struct {
	Fingerprint   string    `json:"fingerprint"`
	EffectiveFrom string    `json:"effective_from"`
	Reason        Reason    `json:"reason"`
	Valid         *[]string `json:"valid_signatures,omitempty"`
}

// wireValid is the wire form of an entry's valid signatures.
func wireValid(exact bool, v []string) *[]string {
	if !exact {
		return nil
	}
	out := v
	if out == nil {
		out = []string{}
	}
	return &out
}

// fromWireValid is the inverse of wireValid.
func fromWireValid(w *[]string) (bool, []string) {
	if w == nil {
		return false, nil
	}
	if len(*w) == 0 {
		return true, nil
	}
	return true, *w
}

// Marshal returns the one encoding of l: compact JSON, fields in a fixed
// order starting with "format", entries sorted, empty lists as [], times
// in TimeLayout. These are the bytes Sign signs. Lists not made by Build
// or Parse are refused (ErrInvalidList) unless already canonical.
func (l *List) Marshal() ([]byte, error) {
	if err := l.validate(); err != nil {
		return nil, fmt.Errorf("revocation: marshal: %w: %w", ErrInvalidList, err)
	}
	w := wireList{
		Format:       Format,
		Issuer:       l.Issuer,
		Version:      l.Version,
		IssuedAt:     formatTime(l.IssuedAt),
		NextUpdate:   formatTime(l.NextUpdate),
		Archives:     []wireArchive{},
		Certificates: []wireCert{},
		Keys:         []wireKey{},
	}
	for _, a := range l.Archives {
		w.Archives = append(w.Archives, wireArchive{a.SHA256, a.Reason, formatTime(a.RevokedAt), a.LedgerEntryID})
	}
	for _, c := range l.Certificates {
		w.Certificates = append(w.Certificates, wireCert{c.Issuer, c.Serial, formatTime(c.EffectiveFrom), c.Reason, wireValid(c.Exact, c.Valid)})
	}
	for _, k := range l.Keys {
		w.Keys = append(w.Keys, wireKey{k.Fingerprint, formatTime(k.EffectiveFrom), k.Reason, wireValid(k.Exact, k.Valid)})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, fmt.Errorf("revocation: marshal: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// parseList decodes payload and accepts it only in its canonical encoding,
// so that one list has one byte string (and one signature).
func parseList(payload []byte) (*List, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	var w wireList
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the list", ErrMalformed)
	}
	if w.Format != Format {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrMalformed, w.Format, Format)
	}
	l := &List{Issuer: w.Issuer, Version: w.Version}
	var err error
	times := []struct {
		dst *time.Time
		src string
	}{{&l.IssuedAt, w.IssuedAt}, {&l.NextUpdate, w.NextUpdate}}
	for _, tt := range times {
		if *tt.dst, err = parseTime(tt.src); err != nil {
			return nil, err
		}
	}
	for _, a := range w.Archives {
		t, err := parseTime(a.RevokedAt)
		if err != nil {
			return nil, err
		}
		l.Archives = append(l.Archives, RevokedArchive{a.SHA256, a.Reason, t, a.LedgerEntryID})
	}
	for _, c := range w.Certificates {
		t, err := parseTime(c.EffectiveFrom)
		if err != nil {
			return nil, err
		}
		exact, valid := fromWireValid(c.Valid)
		l.Certificates = append(l.Certificates, RevokedCertificate{c.Issuer, c.Serial, t, c.Reason, exact, valid})
	}
	for _, k := range w.Keys {
		t, err := parseTime(k.EffectiveFrom)
		if err != nil {
			return nil, err
		}
		exact, valid := fromWireValid(k.Valid)
		l.Keys = append(l.Keys, RevokedKey{k.Fingerprint, t, k.Reason, exact, valid})
	}
	if err := l.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	again, err := l.Marshal()
	if err != nil || !bytes.Equal(again, payload) {
		return nil, fmt.Errorf("%w: list is not in canonical encoding", ErrMalformed)
	}
	return l, nil
}

func formatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(TimeLayout, s)
	if err != nil || formatTime(t) != s {
		return time.Time{}, fmt.Errorf("%w: time %q is not in the form %s", ErrMalformed, s, TimeLayout)
	}
	return t, nil
}

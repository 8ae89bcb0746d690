package ledger

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// PayloadVersion is the "v" of every payload this package writes. A new
// encoding gets a new version; leaves already logged keep theirs.
const PayloadVersion = 1

// timeLayout is how payload timestamps are written: RFC 3339 in UTC with
// exactly six fractional digits, the precision PostgreSQL keeps.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// ErrMalformedPayload means a log leaf's payload is not one this package
// writes.
var ErrMalformedPayload = errors.New("ledger: malformed leaf payload")

// signaturePayload is the canonical form of a signature in its log leaf
// (translog.KindSignature). Field order is the JSON key order.
type signaturePayload struct {
	V              int    `json:"v"`
	EntryID        int64  `json:"entry_id"`
	AppKey         string `json:"app_key"`
	Version        string `json:"version"`
	Track          string `json:"track"`
	Profile        string `json:"profile"`
	ArchiveSize    int64  `json:"archive_size"`
	SHA256         string `json:"sha256"`
	SHA512         string `json:"sha512"`
	KeyID          string `json:"key_id"`
	KeyVersion     int32  `json:"key_version"`
	CertSerial     string `json:"cert_serial"`
	Signature      string `json:"signature"`
	Statement      string `json:"statement,omitempty"`
	Caller         string `json:"caller"`
	ReviewRef      string `json:"review_ref"`
	IdempotencyKey string `json:"idempotency_key"`
	SignedAt       string `json:"signed_at"`
}

// EncodeSignature returns the canonical payload of the log leaf recording
// e: a JSON object with the keys of signaturePayload in that order, bytes
// as lowercase hex, signed_at as RFC 3339 UTC with six fractional digits,
// encoding/json's escaping, no insignificant whitespace. Every field of
// the signatures row but log_index (the leaf's own index) is in it, so a
// row changed after the fact no longer encodes to its leaf's payload.
func EncodeSignature(e Entry) []byte {
	e = e.normalize()
	return appendSignaturePayload(make([]byte, 0, 512+2*len(e.Statement)), e)
}

// DecodeSignature parses a payload made by EncodeSignature. It accepts
// only the canonical encoding: the decoded entry must encode back to
// exactly b. LogIndex is left NotLogged; the leaf's index is the caller's.
func DecodeSignature(b []byte) (Entry, error) {
	var p signaturePayload
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Entry{}, fmt.Errorf("%w: %w", ErrMalformedPayload, err)
	}
	if p.V != PayloadVersion {
		return Entry{}, fmt.Errorf("%w: version %d, want %d", ErrMalformedPayload, p.V, PayloadVersion)
	}
	e := Entry{
		ID: p.EntryID, AppKey: p.AppKey, Version: p.Version, Track: p.Track, Profile: p.Profile,
		ArchiveSize: p.ArchiveSize, KeyID: p.KeyID, KeyVersion: p.KeyVersion, CertSerial: p.CertSerial,
		Caller: p.Caller, ReviewRef: p.ReviewRef, IdempotencyKey: p.IdempotencyKey, LogIndex: NotLogged,
	}
	var err error
	for _, f := range []struct {
		dst *[]byte
		src string
	}{{&e.SHA256, p.SHA256}, {&e.SHA512, p.SHA512}, {&e.Signature, p.Signature}, {&e.Statement, p.Statement}} {
		if *f.dst, err = hex.DecodeString(f.src); err != nil {
			return Entry{}, fmt.Errorf("%w: %w", ErrMalformedPayload, err)
		}
	}
	if len(e.Statement) == 0 {
		e.Statement = nil
	}
	if e.SignedAt, err = time.Parse(timeLayout, p.SignedAt); err != nil {
		return Entry{}, fmt.Errorf("%w: signed_at: %w", ErrMalformedPayload, err)
	}
	if !bytes.Equal(EncodeSignature(e), b) {
		return Entry{}, fmt.Errorf("%w: not in canonical form", ErrMalformedPayload)
	}
	return e, nil
}

// Differences names the fields in which two records of one signature
// differ (ID included, LogIndex and Revoked not), for an auditor's report.
func Differences(a, b Entry) []string {
	a, b = a.normalize(), b.normalize()
	var out []string
	check := func(name string, same bool) {
		if !same {
			out = append(out, name)
		}
	}
	check("entry_id", a.ID == b.ID)
	check("app_key", a.AppKey == b.AppKey)
	check("version", a.Version == b.Version)
	check("track", a.Track == b.Track)
	check("profile", a.Profile == b.Profile)
	check("archive_size", a.ArchiveSize == b.ArchiveSize)
	check("sha256", bytes.Equal(a.SHA256, b.SHA256))
	check("sha512", bytes.Equal(a.SHA512, b.SHA512))
	check("key_id", a.KeyID == b.KeyID)
	check("key_version", a.KeyVersion == b.KeyVersion)
	check("cert_serial", a.CertSerial == b.CertSerial)
	check("signature", bytes.Equal(a.Signature, b.Signature))
	check("statement", bytes.Equal(a.Statement, b.Statement))
	check("caller", a.Caller == b.Caller)
	check("review_ref", a.ReviewRef == b.ReviewRef)
	check("idempotency_key", a.IdempotencyKey == b.IdempotencyKey)
	check("signed_at", a.SignedAt.Equal(b.SignedAt))
	return out
}

package ledger

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"
)

// TestEntryValidate: every rule Record applies before the schema's CHECK
// constraints, one broken at a time, each an ErrInvalidEntry.
func TestEntryValidate(t *testing.T) {
	valid := func() Entry {
		return Entry{
			AppKey: "com.example.app", Version: "1.0.0", Track: TrackMarketplace, ArchiveSize: 1024,
			SHA256: make([]byte, 32), SHA512: make([]byte, 64), KeyID: "k", KeyVersion: 1,
			Signature: make([]byte, ed25519.SignatureSize), Caller: "pipeline", IdempotencyKey: "i",
			SignedAt: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC), Profile: ProfileUPM,
		}
	}
	tests := []struct {
		name   string
		change func(*Entry)
		ok     bool
	}{
		{"valid archive signature", func(*Entry) {}, true},
		{"valid digest statement", func(e *Entry) { e.Profile, e.Statement = ProfileDigestV1, []byte("s") }, true},
		{"private build", func(e *Entry) { e.Track = TrackPrivateBuild }, true},
		{"empty archive", func(e *Entry) { e.ArchiveSize = 0 }, true},
		{"no app key", func(e *Entry) { e.AppKey = "" }, false},
		{"no version", func(e *Entry) { e.Version = "" }, false},
		{"unknown track", func(e *Entry) { e.Track = "CUSTOM" }, false},
		{"negative size", func(e *Entry) { e.ArchiveSize = -1 }, false},
		{"short sha256", func(e *Entry) { e.SHA256 = e.SHA256[:31] }, false},
		{"long sha512", func(e *Entry) { e.SHA512 = append(e.SHA512, 0) }, false},
		{"no key id", func(e *Entry) { e.KeyID = "" }, false},
		{"short signature", func(e *Entry) { e.Signature = e.Signature[:63] }, false},
		{"no caller", func(e *Entry) { e.Caller = "" }, false},
		{"no idempotency key", func(e *Entry) { e.IdempotencyKey = "" }, false},
		{"no signing time", func(e *Entry) { e.SignedAt = time.Time{} }, false},
		{"unknown profile", func(e *Entry) { e.Profile = "ph" }, false},
		{"statement with the archive profile", func(e *Entry) { e.Statement = []byte("s") }, false},
		{"digest profile without statement", func(e *Entry) { e.Profile = ProfileDigestV1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := valid()
			tt.change(&e)
			err := e.validate()
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidEntry)) {
				t.Fatalf("validate = %v, want ok %v (else ErrInvalidEntry)", err, tt.ok)
			}
		})
	}
}

// TestSameRequest: a retry under one idempotency key is the same request
// when it names the same app, version, track and profile (empty meaning
// upm, on either side) and archive: for upm the archive's SHA-256 alone
// (the server asks before it has read the archive), for digest-v1, whose
// client states every digest, also its size and SHA-512.
func TestSameRequest(t *testing.T) {
	base := func(profile string) Entry {
		e := Entry{AppKey: "com.example.app", Version: "1.0.0", Track: TrackMarketplace, Profile: profile, ArchiveSize: 1024,
			SHA256: make([]byte, 32), SHA512: make([]byte, 64)}
		if profile == ProfileDigestV1 {
			e.Statement = []byte("s")
		}
		return e
	}
	tests := []struct {
		name    string
		first   string // profile of the recorded entry
		retry   func(*Entry)
		samereq bool
	}{
		{"upm, identical", ProfileUPM, func(*Entry) {}, true},
		{"upm recorded, profile left empty", ProfileUPM, func(e *Entry) { e.Profile = "" }, true},
		{"empty profile recorded, upm retried", "", func(e *Entry) { e.Profile = ProfileUPM }, true},
		{"upm, other size and SHA-512", ProfileUPM, func(e *Entry) { e.ArchiveSize, e.SHA512 = 0, nil }, true},
		{"upm, other archive", ProfileUPM, func(e *Entry) { e.SHA256 = make([]byte, 31) }, false},
		{"upm recorded, digest retried", ProfileUPM, func(e *Entry) { e.Profile = ProfileDigestV1 }, false},
		{"empty profile recorded, digest retried", "", func(e *Entry) { e.Profile = ProfileDigestV1 }, false},
		{"digest recorded, empty profile retried", ProfileDigestV1, func(e *Entry) { e.Profile = "" }, false},
		{"digest, identical", ProfileDigestV1, func(*Entry) {}, true},
		{"digest, another statement", ProfileDigestV1, func(e *Entry) { e.Statement = []byte("t") }, true},
		{"digest, other size", ProfileDigestV1, func(e *Entry) { e.ArchiveSize++ }, false},
		{"digest, other SHA-512", ProfileDigestV1, func(e *Entry) { e.SHA512 = bytes.Repeat([]byte{1}, 64) }, false},
		{"digest, other SHA-256", ProfileDigestV1, func(e *Entry) { e.SHA256 = bytes.Repeat([]byte{1}, 32) }, false},
		{"other app", ProfileUPM, func(e *Entry) { e.AppKey = "com.example.other" }, false},
		{"other version", ProfileUPM, func(e *Entry) { e.Version = "1.0.1" }, false},
		{"other track", ProfileUPM, func(e *Entry) { e.Track = TrackPrivateBuild }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, retry := base(tt.first), base(tt.first)
			tt.retry(&retry)
			if got := first.SameRequest(retry); got != tt.samereq {
				t.Errorf("SameRequest = %v, want %v", got, tt.samereq)
			}
		})
	}
}

package ledger

import (
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

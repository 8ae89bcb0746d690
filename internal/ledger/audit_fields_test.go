package ledger

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"
)

// TestAuditNamesEachChangedField changes one field of one stored row at a
// time, as a DBA with triggers off would, and expects exactly that field
// named. A row's signed_at is what `verify --ledger-entry` dates a
// signature by against a revocation's effective time, so moving it alone
// (issue 17, survivor 3) must be caught, as must every other field.
func TestAuditNamesEachChangedField(t *testing.T) {
	rows, leaves, key := auditFixture(t, 4)
	keys := map[KeyRef]ed25519.PublicKey{{"k", 1}: key.Public().(ed25519.PublicKey)}
	tests := []struct {
		field string
		edit  func(e *Entry)
	}{
		{"signed_at", func(e *Entry) { e.SignedAt = e.SignedAt.Add(-time.Hour) }},
		{"signed_at", func(e *Entry) { e.SignedAt = e.SignedAt.Add(time.Microsecond) }},
		{"app_key", func(e *Entry) { e.AppKey = "com.evil" }},
		{"version", func(e *Entry) { e.Version = "9.9.9" }},
		{"track", func(e *Entry) { e.Track = TrackPrivateBuild }},
		{"profile", func(e *Entry) { e.Profile = ProfileUPM }},
		{"archive_size", func(e *Entry) { e.ArchiveSize++ }},
		{"sha256", func(e *Entry) { e.SHA256 = bytes.Repeat([]byte{1}, 32) }},
		{"sha512", func(e *Entry) { e.SHA512 = bytes.Repeat([]byte{1}, 64) }},
		{"key_id", func(e *Entry) { e.KeyID = "other" }},
		{"key_version", func(e *Entry) { e.KeyVersion = 7 }},
		{"cert_serial", func(e *Entry) { e.CertSerial = "0b" }},
		{"signature", func(e *Entry) { e.Signature = bytes.Repeat([]byte{2}, 64) }},
		{"statement", func(e *Entry) { e.Statement = []byte("other statement") }},
		{"caller", func(e *Entry) { e.Caller = "mallory" }},
		{"review_ref", func(e *Entry) { e.ReviewRef = "none" }},
		{"idempotency_key", func(e *Entry) { e.IdempotencyKey = "x" }},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.field, i), func(t *testing.T) {
			rs := append([]Entry(nil), rows...)
			tt.edit(&rs[2])
			if bytes.Equal(EncodeSignature(rs[2]), EncodeSignature(rows[2])) {
				t.Fatalf("changing %s leaves the canonical payload unchanged", tt.field)
			}
			a := runAudit(rs, leaves, keys)
			want := fmt.Sprintf("leaf 5 (entry 12): %s differ from the logged record", tt.field)
			if len(a.Findings) != 1 || a.Findings[0].String() != want {
				t.Fatalf("findings %v; want exactly %q", a.Findings, want)
			}
		})
	}
}

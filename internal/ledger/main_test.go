package ledger_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"testing"
	"time"

	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// newStore returns a store on a fresh, migrated database, and its URL.
func newStore(t *testing.T) (*ledger.Store, string) {
	t.Helper()
	url := pgtest.URL(t)
	if err := ledger.Migrate(t.Context(), url); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	s, err := ledger.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s, url
}

// entry returns a valid entry for app and version; key makes it unique.
func entry(app, version, key string) ledger.Entry {
	archive := []byte(app + "/" + version)
	d256, d512 := sha256.Sum256(archive), sha512.Sum512(archive)
	return ledger.Entry{
		AppKey:         app,
		Version:        version,
		Track:          ledger.TrackMarketplace,
		ArchiveSize:    int64(len(archive)),
		SHA256:         d256[:],
		SHA512:         d512[:],
		KeyID:          "marketplace-signing",
		KeyVersion:     3,
		CertSerial:     "7f3a9c",
		Signature:      bytes.Repeat([]byte{0xab}, 64),
		Caller:         "review-pipeline",
		ReviewRef:      "REVIEW-" + version,
		IdempotencyKey: key,
		Profile:        ledger.ProfileUPM,
		// Not UTC and with nanoseconds: the store must normalize both.
		SignedAt: time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600)),
	}
}

// equalEntries reports the first difference between two entries, or "".
func equalEntries(got, want ledger.Entry) string {
	if !got.SignedAt.Equal(want.SignedAt) || got.SignedAt.Location() != want.SignedAt.Location() {
		return fmt.Sprintf("SignedAt = %v, want %v", got.SignedAt, want.SignedAt)
	}
	got.SignedAt, want.SignedAt = time.Time{}, time.Time{}
	if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
		return fmt.Sprintf("\n got %#v\nwant %#v", got, want)
	}
	return ""
}

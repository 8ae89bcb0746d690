package server

import (
	"testing"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

// FuzzValidateMetadata: request validation never panics, and what it
// accepts fits the documented bounds.
func FuzzValidateMetadata(f *testing.F) {
	f.Add("com.example.app", "1.0.0", int32(1), "review-1", "key-1", []byte{})
	f.Add("", "", int32(0), "", "", []byte{1})
	f.Add("a.b", "0", int32(2), "x", "k", make([]byte, 32))
	f.Fuzz(func(t *testing.T, appKey, version string, track int32, reviewRef, idem string, digest []byte) {
		m := &signerv1.SignArchiveMetadata{AppKey: appKey, Version: version, Track: signerv1.Track(track),
			ReviewRef: reviewRef, IdempotencyKey: idem, ExpectedSha256: digest}
		if err := validateMetadata(m); err != nil {
			return
		}
		if len(appKey) > maxAppKeyLen || len(version) > maxVersionLen || len(idem) > maxIdempotencyKeyLen || len(reviewRef) > maxReviewRefLen {
			t.Fatalf("accepted over-long field: %q %q %q %q", appKey, version, idem, reviewRef)
		}
		if len(digest) != 0 && len(digest) != 32 {
			t.Fatalf("accepted a %d-byte digest", len(digest))
		}
		if _, err := trackName(m.GetTrack()); err != nil {
			t.Fatalf("accepted track %d", track)
		}
	})
}

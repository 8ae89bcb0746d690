package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"time"
)

// Tracks an entry can be recorded on.
const (
	TrackMarketplace  = "MARKETPLACE"
	TrackPrivateBuild = "PRIVATE_BUILD"
)

// Signature profiles: what the signature covers.
const (
	// ProfileUPM: pure Ed25519 over every byte of the archive (the default).
	ProfileUPM = "upm"
	// ProfileDigestV1: pure Ed25519 over Statement, a digest statement.
	ProfileDigestV1 = "digest-v1"
)

// Entry is one signature record.
type Entry struct {
	ID          int64  // assigned by Record
	AppKey      string // the app's marketplace key
	Version     string
	Track       string // TrackMarketplace or TrackPrivateBuild
	ArchiveSize int64  // bytes
	SHA256      []byte // of the whole archive, 32 bytes
	SHA512      []byte // of the whole archive, 64 bytes
	KeyID       string // signing key
	KeyVersion  int32
	CertSerial  string // serial of the certificate shipped with the signature
	Signature   []byte // pure Ed25519 over the archive, 64 bytes
	Caller      string // authenticated client that asked for the signature
	ReviewRef   string // the marketplace review that approved the version
	// IdempotencyKey is unique per Caller: a retry with the same key returns
	// the first record.
	IdempotencyKey string
	SignedAt       time.Time // stored in UTC at microsecond precision
	// Profile is ProfileUPM (empty means the same) or ProfileDigestV1.
	Profile string
	// Statement holds the signed statement bytes for ProfileDigestV1; nil otherwise.
	Statement []byte
	// LogIndex is the index of the log leaf that records this entry
	// (assigned by Record, like ID), or NotLogged for a row recorded
	// before the ledger had a log.
	LogIndex int64
	// Revoked reports whether a revocation covers this signature; always
	// false when the Store does not track revocations (TracksRevocations).
	Revoked bool
}

// NotLogged is the LogIndex of entries recorded before the ledger had a log.
const NotLogged int64 = -1

// validate checks what the schema would otherwise reject, with a clearer
// error; the schema's CHECK constraints remain the last word.
func (e Entry) validate() error {
	var problem string
	switch {
	case e.AppKey == "":
		problem = "empty app key"
	case e.Version == "":
		problem = "empty version"
	case e.Track != TrackMarketplace && e.Track != TrackPrivateBuild:
		problem = fmt.Sprintf("track %q is neither %s nor %s", e.Track, TrackMarketplace, TrackPrivateBuild)
	case e.ArchiveSize < 0:
		problem = "negative archive size"
	case len(e.SHA256) != sha256.Size:
		problem = fmt.Sprintf("sha256 is %d bytes, want %d", len(e.SHA256), sha256.Size)
	case len(e.SHA512) != sha512.Size:
		problem = fmt.Sprintf("sha512 is %d bytes, want %d", len(e.SHA512), sha512.Size)
	case e.KeyID == "":
		problem = "empty key id"
	case len(e.Signature) != ed25519.SignatureSize:
		problem = fmt.Sprintf("signature is %d bytes, want %d", len(e.Signature), ed25519.SignatureSize)
	case e.Caller == "":
		problem = "empty caller"
	case e.IdempotencyKey == "":
		problem = "empty idempotency key"
	case e.SignedAt.IsZero():
		problem = "zero signing time"
	case e.Profile != ProfileUPM && e.Profile != ProfileDigestV1:
		problem = fmt.Sprintf("profile %q is neither %s nor %s", e.Profile, ProfileUPM, ProfileDigestV1)
	case (e.Profile == ProfileDigestV1) != (len(e.Statement) > 0):
		problem = "a statement goes with the digest-v1 profile, and only with it"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidEntry, problem)
}

// normalize returns e as the database will return it: timestamps in UTC,
// truncated to PostgreSQL's microsecond precision.
func (e Entry) normalize() Entry {
	e.SignedAt = e.SignedAt.UTC().Truncate(time.Microsecond)
	if e.Profile == "" {
		e.Profile = ProfileUPM
	}
	return e
}

// SameRequest reports whether o asks for what e records: the same app key,
// version, track, profile and archive digests. A retry under one idempotency
// key must be the same request.
func (e Entry) SameRequest(o Entry) bool {
	p1, p2 := e.Profile, o.Profile
	if p1 == "" {
		p1 = ProfileUPM
	}
	if p2 == "" {
		p2 = ProfileUPM
	}
	return e.AppKey == o.AppKey && e.Version == o.Version && e.Track == o.Track && p1 == p2 &&
		bytes.Equal(e.SHA256, o.SHA256) && (p1 == ProfileUPM || (e.ArchiveSize == o.ArchiveSize && bytes.Equal(e.SHA512, o.SHA512)))
}

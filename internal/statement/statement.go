package statement

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

const (
	// ReservedPrefix starts every version of the statement. Nothing else the
	// service signs may start with it: see HasReservedPrefix.
	ReservedPrefix = "appsign.dev/digest-statement/"
	// Header is the first line of a v1 statement, LF included.
	Header = ReservedPrefix + "v1\n"
	// MaxSize bounds an encoded statement: AWS KMS signs at most 4096 bytes
	// with ED25519_SHA_512 and MessageType RAW. The field grammar keeps a
	// statement under maxEncodedSize, far below it.
	MaxSize = 4096
	// TimeLayout is the only form of signed-at: RFC 3339 in UTC with exactly
	// six fractional digits, the ledger's microsecond precision.
	TimeLayout = "2006-01-02T15:04:05.000000Z"
)

// Tracks a statement can name; the ledger's values.
const (
	TrackMarketplace  = "MARKETPLACE"
	TrackPrivateBuild = "PRIVATE_BUILD"
)

// Field names, in the only order they may appear.
const (
	fieldAppKey        = "app-key"
	fieldVersion       = "version"
	fieldTrack         = "track"
	fieldArchiveSize   = "archive-size"
	fieldArchiveSHA256 = "archive-sha256"
	fieldArchiveSHA512 = "archive-sha512"
	fieldSignedAt      = "signed-at"
	fieldKeyID         = "key-id"
	fieldKeyVersion    = "key-version"
)

var fieldOrder = []string{
	fieldAppKey, fieldVersion, fieldTrack, fieldArchiveSize, fieldArchiveSHA256,
	fieldArchiveSHA512, fieldSignedAt, fieldKeyID, fieldKeyVersion,
}

// Statement says that an archive of ArchiveSize bytes with digests SHA256
// and SHA512 was signed as Version of app AppKey on Track, at SignedAt, by
// version KeyVersion of key KeyID. Fields mirror the ledger entry.
type Statement struct {
	// AppKey is the app's reverse-DNS key, e.g. "com.example.time-sheets".
	AppKey string
	// Version is the app version, e.g. "1.4.2".
	Version string
	// Track is TrackMarketplace or TrackPrivateBuild.
	Track string
	// ArchiveSize is the archive's length in bytes, at least 1.
	ArchiveSize int64
	// SHA256 is the 32-byte SHA-256 of the whole archive.
	SHA256 []byte
	// SHA512 is the 64-byte SHA-512 of the whole archive.
	SHA512 []byte
	// SignedAt is when the statement was signed. It must have no
	// sub-microsecond part (use Truncate(time.Microsecond), as the ledger
	// stores it); it is encoded in UTC, and Parse returns it in UTC.
	SignedAt time.Time
	// KeyID names the signing key, as the ledger does, e.g. "marketplace-signing".
	KeyID string
	// KeyVersion is the signing key's version, at least 1.
	KeyVersion int32
}

// Marshal returns the one encoding of st:
//
//	appsign.dev/digest-statement/v1
//	app-key <app key>
//	version <version>
//	track <MARKETPLACE|PRIVATE_BUILD>
//	archive-size <decimal>
//	archive-sha256 <64 lowercase hex>
//	archive-sha512 <128 lowercase hex>
//	signed-at <YYYY-MM-DDTHH:MM:SS.ffffffZ>
//	key-id <key id>
//	key-version <decimal>
//
// with every line ended by one LF, one space between name and value, and
// nothing else. It refuses (ErrInvalidStatement) any field that breaks the
// grammar of docs/digest-profile.md and any encoding over MaxSize bytes.
func (st Statement) Marshal() ([]byte, error) {
	if err := st.validate(); err != nil {
		return nil, fmt.Errorf("statement: marshal: %w: %w", ErrInvalidStatement, err)
	}
	b := st.encode()
	if len(b) > MaxSize {
		return nil, fmt.Errorf("statement: marshal: %w: %d bytes, limit %d", ErrInvalidStatement, len(b), MaxSize)
	}
	return b, nil
}

// validate checks every field against its grammar.
func (st Statement) validate() error {
	checks := []struct {
		field string
		err   error
	}{
		{fieldAppKey, checkAppKey(st.AppKey)},
		{fieldVersion, checkVersion(st.Version)},
		{fieldTrack, checkTrack(st.Track)},
		{fieldArchiveSize, checkArchiveSize(st.ArchiveSize)},
		{fieldArchiveSHA256, checkDigest(st.SHA256, sha256Size)},
		{fieldArchiveSHA512, checkDigest(st.SHA512, sha512Size)},
		{fieldSignedAt, checkSignedAt(st.SignedAt)},
		{fieldKeyID, checkKeyID(st.KeyID)},
		{fieldKeyVersion, checkKeyVersion(st.KeyVersion)},
	}
	for _, c := range checks {
		if c.err != nil {
			return fmt.Errorf("%s: %w", c.field, c.err)
		}
	}
	return nil
}

// values returns the encoded field values in fieldOrder.
func (st Statement) values() []string {
	return []string{
		st.AppKey,
		st.Version,
		st.Track,
		strconv.FormatInt(st.ArchiveSize, 10),
		hex.EncodeToString(st.SHA256),
		hex.EncodeToString(st.SHA512),
		st.SignedAt.UTC().Format(TimeLayout),
		st.KeyID,
		strconv.FormatInt(int64(st.KeyVersion), 10),
	}
}

func (st Statement) encode() []byte {
	var b strings.Builder
	b.WriteString(Header)
	for i, v := range st.values() {
		b.WriteString(fieldOrder[i])
		b.WriteByte(' ')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// Equal reports whether st and o encode to the same statement.
func (st Statement) Equal(o Statement) bool {
	return bytes.Equal(st.encode(), o.encode())
}

// HasReservedPrefix reports whether b, the first bytes of a message about
// to be signed, starts with ReservedPrefix. A service that signs archives
// (UPM profile) with a key that may also sign statements must refuse such
// archives: otherwise an "archive" whose bytes are a forged statement
// would come back with a valid statement signature. Pass at least the
// first len(ReservedPrefix) bytes of the message, or all of it if shorter.
func HasReservedPrefix(b []byte) bool {
	return bytes.HasPrefix(b, []byte(ReservedPrefix))
}

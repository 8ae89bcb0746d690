package statement

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Field limits. The app-key and version grammar is the API's (docs/api.md).
const (
	maxAppKeyLen  = 255
	maxVersionLen = 64
	maxKeyIDLen   = 128
	sha256Size    = sha256.Size
	sha512Size    = sha512.Size

	// maxEncodedSize is the longest statement the grammar allows: the
	// header, nine names with their space and LF, and the longest values.
	maxEncodedSize = len(Header) + 9*2 +
		len(fieldAppKey) + maxAppKeyLen +
		len(fieldVersion) + maxVersionLen +
		len(fieldTrack) + len(TrackPrivateBuild) +
		len(fieldArchiveSize) + 19 + // math.MaxInt64
		len(fieldArchiveSHA256) + 2*sha256Size +
		len(fieldArchiveSHA512) + 2*sha512Size +
		len(fieldSignedAt) + len(TimeLayout) +
		len(fieldKeyID) + maxKeyIDLen +
		len(fieldKeyVersion) + 10 // math.MaxInt32
)

func checkText(s string, max int, match func(string) bool, rule string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > max:
		return fmt.Errorf("%d bytes, limit %d", len(s), max)
	case !match(s):
		return errors.New(rule)
	}
	return nil
}

func checkAppKey(s string) error {
	return checkText(s, maxAppKeyLen, matchAppKey, "not reverse-DNS (dot-separated segments of letters, digits, '-' or '_', first character a letter)")
}

func checkVersion(s string) error {
	return checkText(s, maxVersionLen, matchVersion, "must start with a digit and use only letters, digits, '.', '-', '+' or '_'")
}

func checkKeyID(s string) error {
	return checkText(s, maxKeyIDLen, matchKeyID, "must start with a letter or digit and use only letters, digits, '.', '_', ':', '/' or '-'")
}

func checkTrack(s string) error {
	if s != TrackMarketplace && s != TrackPrivateBuild {
		return fmt.Errorf("%.32q is neither %s nor %s", s, TrackMarketplace, TrackPrivateBuild)
	}
	return nil
}

func checkArchiveSize(n int64) error {
	if n < 1 {
		return fmt.Errorf("%d, want at least 1", n)
	}
	return nil
}

func checkDigest(d []byte, size int) error {
	if len(d) != size {
		return fmt.Errorf("%d bytes, want %d", len(d), size)
	}
	return nil
}

func checkKeyVersion(v int32) error {
	if v < 1 {
		return fmt.Errorf("%d, want at least 1", v)
	}
	return nil
}

// checkSignedAt accepts times that TimeLayout encodes without loss.
func checkSignedAt(t time.Time) error {
	u := t.UTC()
	switch {
	case t.IsZero():
		return errors.New("zero time")
	case u.Year() < 1 || u.Year() > 9999:
		return fmt.Errorf("year %d outside 0001-9999", u.Year())
	case u.Nanosecond()%int(time.Microsecond) != 0:
		return errors.New("finer than a microsecond; truncate to microseconds")
	}
	return nil
}

// parseDecimal decodes a canonical decimal of at most max.
func parseDecimal(s string, max int64) (int64, error) {
	if !matchDecimal(s) {
		return 0, errors.New("not a canonical decimal (digits only, no sign, no leading zero)")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > max {
		return 0, fmt.Errorf("larger than %d", max)
	}
	return n, nil
}

func parseArchiveSize(s string) (int64, error) {
	n, err := parseDecimal(s, math.MaxInt64)
	if err != nil {
		return 0, err
	}
	return n, checkArchiveSize(n)
}

func parseKeyVersion(s string) (int32, error) {
	n, err := parseDecimal(s, math.MaxInt32)
	if err != nil {
		return 0, err
	}
	return int32(n), checkKeyVersion(int32(n))
}

// parseHex decodes exactly size bytes of lowercase hex.
func parseHex(s string, size int) ([]byte, error) {
	if len(s) != 2*size {
		return nil, fmt.Errorf("%d hex digits, want %d", len(s), 2*size)
	}
	if !matchLowerHex(s) {
		return nil, errors.New("not lowercase hex")
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("not lowercase hex")
	}
	return b, nil
}

func parseSignedAt(s string) (time.Time, error) {
	if !matchSignedAt(s) {
		return time.Time{}, fmt.Errorf("not of the form %s", TimeLayout)
	}
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		return time.Time{}, errors.New("not a valid UTC date and time")
	}
	return t, checkSignedAt(t)
}

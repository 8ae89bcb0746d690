package revocation

import (
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Format is the format identifier of a v1 list, its first field.
const Format = "appsign.dev/revocation-list/v1"

const (
	// MaxValidSignatures bounds the signatures all exact entries of one
	// list name together (see RevokedKey.Valid): at about 89 bytes each in
	// the envelope, 500,000 make a file of about 45 MB that still fits
	// MaxSize and is installed by hand. Build refuses more, never drops any.
	MaxValidSignatures = 500_000

	maxIssuerLen = 256
	maxDNLen     = 1024
	maxSerialHex = 40 // RFC 5280: serials are at most 20 octets
)

// List is a verified or freshly built revocation list. Times are UTC with
// microsecond precision; entries are sorted and unique.
type List struct {
	// Issuer names who publishes the list, e.g. "appsign marketplace".
	Issuer string
	// Version increases with every list the issuer publishes.
	Version uint64
	// IssuedAt is when the list was made.
	IssuedAt time.Time
	// NextUpdate is when the next list is due; after it the list is stale.
	NextUpdate time.Time
	// Archives are revoked archives, sorted by SHA256.
	Archives []RevokedArchive
	// Certificates are revoked certificates, sorted by issuer then serial.
	Certificates []RevokedCertificate
	// Keys are revoked keys, sorted by fingerprint.
	Keys []RevokedKey
}

// RevokedArchive revokes every signature over one archive.
type RevokedArchive struct {
	// SHA256 is the archive's SHA-256, lowercase hex.
	SHA256 string
	Reason Reason
	// RevokedAt is when the revocation was decided (informational: an
	// archive is revoked whenever it was signed).
	RevokedAt time.Time
	// LedgerEntryID is the ledger entry of the signature, or 0 if unknown.
	LedgerEntryID int64
}

// RevokedCertificate revokes signatures made with a certificate, or under
// a CA certificate, at or after EffectiveFrom.
type RevokedCertificate struct {
	// Issuer is the issuer's distinguished name as x509.Certificate
	// Issuer.String() prints it (and chain.Result.Issuers lists it).
	Issuer string
	// Serial is the serial number, lowercase hex of its big-endian bytes
	// without leading zero bytes, as chain.Result.Serial prints it.
	Serial        string
	EffectiveFrom time.Time
	Reason        Reason
	// Exact and Valid: see RevokedKey.
	Exact bool
	Valid []string
}

// RevokedKey revokes signatures made with a key, or by any certificate for
// it, at or after EffectiveFrom.
type RevokedKey struct {
	// Fingerprint is the lowercase hex SHA-256 of the DER
	// SubjectPublicKeyInfo (chain.KeyFingerprint).
	Fingerprint   string
	EffectiveFrom time.Time
	Reason        Reason
	// Exact says that Valid is the complete set of signatures made with
	// the key before EffectiveFrom, as the ledger recorded them when the
	// list was made. An offline verifier then needs no signing time: a
	// signature in Valid stays valid, any other signature by the key (made
	// after EffectiveFrom, or never logged: a thief's) is revoked.
	Exact bool
	// Valid holds SignatureDigest values, sorted and unique; empty unless
	// Exact.
	Valid []string
}

// Input is what Build makes a List from. Entries may come in any order,
// with digests, serials and fingerprints in any case.
type Input struct {
	Issuer       string
	Version      uint64
	IssuedAt     time.Time
	NextUpdate   time.Time
	Archives     []RevokedArchive
	Certificates []RevokedCertificate
	Keys         []RevokedKey
}

// Build validates in and returns it as a List: times in UTC truncated to
// the microsecond (an earlier effective time revokes more, never less),
// hex lowercased, serials canonical, entries sorted. An entry listed twice
// is kept once, with its earliest time. Errors wrap ErrInvalidList.
func Build(in Input) (*List, error) {
	l := &List{
		Issuer:     in.Issuer,
		Version:    in.Version,
		IssuedAt:   normTime(in.IssuedAt),
		NextUpdate: normTime(in.NextUpdate),
	}
	for _, a := range in.Archives {
		a.SHA256 = strings.ToLower(a.SHA256)
		a.RevokedAt = normTime(a.RevokedAt)
		l.Archives = append(l.Archives, a)
	}
	for _, c := range in.Certificates {
		serial, err := canonicalSerial(c.Serial)
		if err != nil {
			return nil, fmt.Errorf("revocation: build: %w: certificate %q serial %q: %v", ErrInvalidList, c.Issuer, c.Serial, err)
		}
		c.Serial = serial
		c.EffectiveFrom = normTime(c.EffectiveFrom)
		c.Valid = normValid(c.Valid)
		l.Certificates = append(l.Certificates, c)
	}
	for _, k := range in.Keys {
		k.Fingerprint = strings.ToLower(k.Fingerprint)
		k.EffectiveFrom = normTime(k.EffectiveFrom)
		k.Valid = normValid(k.Valid)
		l.Keys = append(l.Keys, k)
	}
	l.Archives = dedup(l.Archives, func(a RevokedArchive) string { return a.SHA256 },
		func(a, b RevokedArchive) bool { return b.RevokedAt.Before(a.RevokedAt) })
	l.Certificates = dedup(l.Certificates, func(c RevokedCertificate) string { return c.Issuer + "\x00" + c.Serial },
		func(a, b RevokedCertificate) bool { return b.EffectiveFrom.Before(a.EffectiveFrom) })
	l.Keys = dedup(l.Keys, func(k RevokedKey) string { return k.Fingerprint },
		func(a, b RevokedKey) bool { return b.EffectiveFrom.Before(a.EffectiveFrom) })
	if err := l.validate(); err != nil {
		return nil, fmt.Errorf("revocation: build: %w: %w", ErrInvalidList, err)
	}
	return l, nil
}

// dedup sorts entries by key and keeps one per key: the first, unless a
// later one is preferred by better(kept, candidate).
func dedup[E any](entries []E, key func(E) string, better func(kept, cand E) bool) []E {
	slices.SortStableFunc(entries, func(a, b E) int { return cmp.Compare(key(a), key(b)) })
	var out []E
	for _, e := range entries {
		if n := len(out); n > 0 && key(out[n-1]) == key(e) {
			if better(out[n-1], e) {
				out[n-1] = e
			}
			continue
		}
		out = append(out, e)
	}
	return out
}

// normValid lowercases, sorts and deduplicates signature digests.
func normValid(v []string) []string {
	if len(v) == 0 {
		return nil
	}
	out := make([]string, len(v))
	for i, d := range v {
		out[i] = strings.ToLower(d)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// ParseSerial parses a certificate serial number written in hex (any
// case, leading zeros allowed): positive and at most the 20 octets RFC 5280
// allows.
func ParseSerial(s string) (*big.Int, error) {
	n, ok := new(big.Int).SetString(s, 16)
	if !ok || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		return nil, errors.New("not a serial number in hex")
	}
	if n.Sign() == 0 {
		return nil, errors.New("serial numbers are positive")
	}
	if len(n.Text(16)) > maxSerialHex {
		return nil, fmt.Errorf("longer than the %d octets RFC 5280 allows", maxSerialHex/2)
	}
	return n, nil
}

// canonicalSerial returns s (hex, optional leading zeros) as the lowercase
// hex of the serial's minimal big-endian bytes.
func canonicalSerial(s string) (string, error) {
	n, err := ParseSerial(s)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(n.Bytes()), nil
}

// validate checks a List in canonical form: what Marshal requires and
// what Parse guarantees.
func (l *List) validate() error {
	if err := checkText("issuer", l.Issuer, maxIssuerLen); err != nil {
		return err
	}
	if l.Version == 0 {
		return errors.New("version must be at least 1")
	}
	if err := checkTime("issued-at", l.IssuedAt); err != nil {
		return err
	}
	if err := checkTime("next-update", l.NextUpdate); err != nil {
		return err
	}
	if !l.NextUpdate.After(l.IssuedAt) {
		return errors.New("next-update must be after issued-at")
	}
	for i, a := range l.Archives {
		if err := checkHex(a.SHA256, 64); err != nil {
			return fmt.Errorf("archive %d: sha256: %w", i, err)
		}
		if err := checkReason(a.Reason); err != nil {
			return fmt.Errorf("archive %s: %w", a.SHA256, err)
		}
		if err := checkTime("revoked-at", a.RevokedAt); err != nil {
			return fmt.Errorf("archive %s: %w", a.SHA256, err)
		}
		if a.LedgerEntryID < 0 {
			return fmt.Errorf("archive %s: negative ledger entry id", a.SHA256)
		}
		if i > 0 && l.Archives[i-1].SHA256 >= a.SHA256 {
			return fmt.Errorf("archive %s: entries not sorted or not unique", a.SHA256)
		}
	}
	valid := 0
	for i, c := range l.Certificates {
		if err := checkText("certificate issuer", c.Issuer, maxDNLen); err != nil {
			return fmt.Errorf("certificate %d: %w", i, err)
		}
		if s, err := canonicalSerial(c.Serial); err != nil || s != c.Serial {
			return fmt.Errorf("certificate %q serial %q: not canonical lowercase hex", c.Issuer, c.Serial)
		}
		if err := checkReason(c.Reason); err != nil {
			return fmt.Errorf("certificate %q serial %s: %w", c.Issuer, c.Serial, err)
		}
		if err := checkTime("effective-from", c.EffectiveFrom); err != nil {
			return fmt.Errorf("certificate %q serial %s: %w", c.Issuer, c.Serial, err)
		}
		if err := checkValid(c.Exact, c.Valid, &valid); err != nil {
			return fmt.Errorf("certificate %q serial %s: %w", c.Issuer, c.Serial, err)
		}
		if i > 0 {
			p := l.Certificates[i-1]
			if p.Issuer+"\x00"+p.Serial >= c.Issuer+"\x00"+c.Serial {
				return fmt.Errorf("certificate %q serial %s: entries not sorted or not unique", c.Issuer, c.Serial)
			}
		}
	}
	for i, k := range l.Keys {
		if err := checkHex(k.Fingerprint, 64); err != nil {
			return fmt.Errorf("key %d: fingerprint: %w", i, err)
		}
		if err := checkReason(k.Reason); err != nil {
			return fmt.Errorf("key %s: %w", k.Fingerprint, err)
		}
		if err := checkTime("effective-from", k.EffectiveFrom); err != nil {
			return fmt.Errorf("key %s: %w", k.Fingerprint, err)
		}
		if err := checkValid(k.Exact, k.Valid, &valid); err != nil {
			return fmt.Errorf("key %s: %w", k.Fingerprint, err)
		}
		if i > 0 && l.Keys[i-1].Fingerprint >= k.Fingerprint {
			return fmt.Errorf("key %s: entries not sorted or not unique", k.Fingerprint)
		}
	}
	return nil
}

// checkValid checks an entry's valid signatures, sorted and unique, and
// adds them to *total, which may not exceed MaxValidSignatures.
func checkValid(exact bool, v []string, total *int) error {
	if !exact && len(v) > 0 {
		return errors.New("valid signatures listed on an entry that is not exact")
	}
	*total += len(v)
	if *total > MaxValidSignatures {
		return fmt.Errorf("more than %d valid signatures in one list", MaxValidSignatures)
	}
	for i, d := range v {
		if err := checkHex(d, 64); err != nil {
			return fmt.Errorf("valid signature %d: %w", i, err)
		}
		if i > 0 && v[i-1] >= d {
			return fmt.Errorf("valid signature %s: entries not sorted or not unique", d)
		}
	}
	return nil
}

func checkText(what, s string, limit int) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is empty", what)
	case len(s) > limit:
		return fmt.Errorf("%s is longer than %d bytes", what, limit)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not UTF-8", what)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%s contains control characters", what)
	}
	return nil
}

func checkTime(what string, t time.Time) error {
	switch {
	case t.IsZero():
		return fmt.Errorf("%s is missing", what)
	case t.Location() != time.UTC || !t.Equal(t.Truncate(time.Microsecond)):
		return fmt.Errorf("%s is not UTC with microsecond precision", what)
	case t.Year() < 1 || t.Year() > 9999:
		return fmt.Errorf("%s is out of range", what)
	}
	return nil
}

func checkHex(s string, n int) error {
	if len(s) != n {
		return fmt.Errorf("want %d hex digits, got %d characters", n, len(s))
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return errors.New("not lowercase hex")
		}
	}
	return nil
}

func checkReason(r Reason) error {
	if !slices.Contains(reasons, r) {
		return fmt.Errorf("unknown reason %q", r)
	}
	return nil
}

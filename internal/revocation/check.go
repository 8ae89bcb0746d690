package revocation

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// TimeSource says where a signing time comes from, which decides how far
// Check may rely on it.
type TimeSource int

const (
	// TimeUnknown: no signing time. Any certificate or key revocation
	// that matches applies.
	TimeUnknown TimeSource = iota
	// TimeFromLedger: the signer service's ledger or transparency log
	// recorded the time; a stolen key cannot change it.
	TimeFromLedger
	// TimeFromStatement: the time is asserted by a statement signed with
	// the signing key itself (offline, e.g. a digest-v1 statement). It is
	// not accepted for entries whose reason is a compromise.
	TimeFromStatement
)

// String names the source for messages.
func (s TimeSource) String() string {
	switch s {
	case TimeFromLedger:
		return "ledger"
	case TimeFromStatement:
		return "statement"
	}
	return "unknown"
}

// CertRef identifies one certificate of a signature's chain.
type CertRef struct {
	// Issuer is the issuer DN as x509.Certificate Issuer.String() prints it.
	Issuer string
	// Serial is the serial number in hex (any case, leading zeros allowed).
	Serial string
	// KeyFingerprint is the lowercase hex SHA-256 of the DER
	// SubjectPublicKeyInfo (chain.KeyFingerprint); empty if unknown.
	KeyFingerprint string
}

// RefOf returns c's CertRef.
func RefOf(c *x509.Certificate) CertRef {
	fp := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return CertRef{
		Issuer:         c.Issuer.String(),
		Serial:         hex.EncodeToString(c.SerialNumber.Bytes()),
		KeyFingerprint: hex.EncodeToString(fp[:]),
	}
}

// RefsOf returns the CertRefs of a validated chain, in order.
func RefsOf(chain []*x509.Certificate) []CertRef {
	out := make([]CertRef, 0, len(chain))
	for _, c := range chain {
		if c != nil {
			out = append(out, RefOf(c))
		}
	}
	return out
}

// Query describes one signature to check.
type Query struct {
	// ArchiveSHA256 is the signed archive's SHA-256 in hex.
	ArchiveSHA256 string
	// Chain is the signature's certificate path: the signing certificate
	// first, then its issuing CAs up to the root (RefsOf of the path that
	// chain verification returned). Every certificate and every key on it
	// is checked, so revoking an intermediate CA revokes what it issued.
	Chain []CertRef
	// SignedAt is when the signature was made; zero if unknown.
	SignedAt time.Time
	// SignedAtSource says where SignedAt comes from.
	SignedAtSource TimeSource
	// Signature is the signature the file carries (64 bytes). With
	// ArchiveSHA256 it names the signature in an exact entry's Valid set
	// (SignatureDigest), which needs no signing time.
	Signature []byte
}

// RevokedError is the error Check returns for a revoked signature. It
// wraps ErrRevoked.
type RevokedError struct {
	// Kind is "archive", "certificate" or "key".
	Kind string
	// Entry identifies the matching list entry: the archive SHA-256,
	// "<issuer> serial <hex>", or the key fingerprint.
	Entry  string
	Reason Reason
	// EffectiveFrom is the entry's effective time (zero for archives).
	EffectiveFrom time.Time
	// LedgerEntryID is the archive entry's ledger id, or 0.
	LedgerEntryID int64
	// Why explains how the signature falls under the entry.
	Why string
}

func (e *RevokedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s (%s)", e.Kind, e.Entry, ErrRevoked, e.Reason)
	if e.LedgerEntryID != 0 {
		fmt.Fprintf(&b, ", ledger entry %d", e.LedgerEntryID)
	}
	if e.Why != "" {
		b.WriteString(": " + e.Why)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrRevoked) true.
func (e *RevokedError) Unwrap() error { return ErrRevoked }

// Check returns an error wrapping a *RevokedError (and ErrRevoked) if l
// revokes the signature q describes, or nil. The archive is checked first,
// then each certificate of q.Chain in order, by serial and by key; the
// first match is reported.
//
// An archive entry revokes every signature over the archive. A certificate
// or key entry effective from T revokes a signature made at or after T. A
// signature made before T stays valid only if its time is known, and, for
// a compromise, comes from the ledger: a statement's time is asserted by
// the very key that may be in an attacker's hands. An exact entry
// (RevokedKey.Exact) needs no time: offline, a signature stays valid if
// and only if the entry's Valid set names it.
func Check(l *List, q Query) error {
	if l == nil {
		return errors.New("revocation: check: no list")
	}
	if q.ArchiveSHA256 != "" {
		sum := strings.ToLower(q.ArchiveSHA256)
		for _, a := range l.Archives {
			if a.SHA256 == sum {
				return fmt.Errorf("revocation: check: %w", &RevokedError{
					Kind: "archive", Entry: a.SHA256, Reason: a.Reason, LedgerEntryID: a.LedgerEntryID,
					Why: "revoked at " + a.RevokedAt.Format(time.RFC3339) + "; the archive is revoked whenever it was signed",
				})
			}
		}
	}
	for _, ref := range q.Chain {
		serial, serialErr := canonicalSerial(ref.Serial)
		for _, c := range l.Certificates {
			if serialErr != nil || c.Issuer != ref.Issuer || c.Serial != serial {
				continue
			}
			if why, revoked := appliesTo(c.EffectiveFrom, c.Reason, c.Exact, c.Valid, q); revoked {
				return fmt.Errorf("revocation: check: %w", &RevokedError{
					Kind: "certificate", Entry: fmt.Sprintf("%q serial %s", c.Issuer, c.Serial),
					Reason: c.Reason, EffectiveFrom: c.EffectiveFrom, Why: why,
				})
			}
		}
		fp := strings.ToLower(ref.KeyFingerprint)
		for _, k := range l.Keys {
			if fp == "" || k.Fingerprint != fp {
				continue
			}
			if why, revoked := appliesTo(k.EffectiveFrom, k.Reason, k.Exact, k.Valid, q); revoked {
				return fmt.Errorf("revocation: check: %w", &RevokedError{
					Kind: "key", Entry: k.Fingerprint, Reason: k.Reason, EffectiveFrom: k.EffectiveFrom, Why: why,
				})
			}
		}
	}
	return nil
}

// SignatureDigest names one signature in an exact entry's Valid set: the
// lowercase hex SHA-256 of the archive's SHA-256 (32 bytes) followed by
// the signature (64 bytes), so that it binds both, as the ledger records
// them. It is "" for inputs of the wrong length.
func SignatureDigest(archiveSHA256, signature []byte) string {
	if len(archiveSHA256) != sha256.Size || len(signature) != 64 {
		return ""
	}
	h := sha256.New()
	h.Write(archiveSHA256)
	h.Write(signature)
	return hex.EncodeToString(h.Sum(nil))
}

// digest is q's SignatureDigest, or "" if q lacks the archive or signature.
func (q Query) digest() string {
	sum, err := hex.DecodeString(q.ArchiveSHA256)
	if err != nil {
		return ""
	}
	return SignatureDigest(sum, q.Signature)
}

// appliesTo decides whether an entry effective from t with reason r
// revokes the signature q, and why. An exact entry decides by membership
// in valid unless the time comes from the ledger (online): the list then
// needs no signing time, and a time a statement asserts counts for
// nothing, as a thief can backdate one.
func appliesTo(t time.Time, r Reason, exact bool, valid []string, q Query) (string, bool) {
	from := t.Format(time.RFC3339Nano)
	if exact && q.SignedAtSource != TimeFromLedger {
		if _, found := slices.BinarySearch(valid, q.digest()); found {
			return "", false
		}
		return fmt.Sprintf("effective from %s; the list names exactly the %d signature(s) the ledger recorded before then, and this is not one of them (made later, or never logged)", from, len(valid)), true
	}
	switch {
	case q.SignedAt.IsZero() || q.SignedAtSource == TimeUnknown:
		return "effective from " + from + " and the signing time is unknown, so the signature is treated as revoked", true
	case !q.SignedAt.Before(t):
		return fmt.Sprintf("signed at %s (%s), at or after the revocation effective from %s", q.SignedAt.UTC().Format(time.RFC3339Nano), q.SignedAtSource, from), true
	case q.SignedAtSource == TimeFromStatement && r.Compromise():
		return fmt.Sprintf("effective from %s; the signing time %s is asserted by a statement made with a compromised key, so it proves nothing", from, q.SignedAt.UTC().Format(time.RFC3339Nano)), true
	case q.SignedAtSource != TimeFromLedger && q.SignedAtSource != TimeFromStatement:
		return "effective from " + from + " and the signing time's source is unknown", true
	}
	return "", false
}

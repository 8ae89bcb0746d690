package translog

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"
)

// Kinds of ledger event a leaf can record.
const (
	KindSignature   = "signature"
	KindRevocation  = "revocation"
	KindKey         = "key"
	KindCertificate = "certificate"
	KindAdmin       = "admin"
)

// kinds lists every kind Append accepts. The schema's CHECK constraint on
// log_leaves.kind holds the same list.
var kinds = []string{KindSignature, KindRevocation, KindKey, KindCertificate, KindAdmin}

// kindString returns b as a string, without allocating for the known
// kinds: DecodeLeaf runs a few times per leaf when a log is verified.
func kindString(b []byte) string {
	for _, k := range kinds {
		if string(b) == k {
			return k
		}
	}
	return string(b)
}

// ValidKind reports whether kind is one of the Kind constants.
func ValidKind(kind string) bool { return slices.Contains(kinds, kind) }

// LeafVersion is the first byte of every leaf EncodeLeaf produces. A new
// encoding gets a new version; leaves already logged keep theirs forever.
const LeafVersion byte = 1

// leafHeader is the size of everything in a leaf but kind and payload:
// version, kind length, timestamp, payload length.
const leafHeader = 1 + 4 + 8 + 4

// Leaf is a decoded log leaf: one ledger event.
type Leaf struct {
	Kind    string
	Payload []byte
	// At is when the event was sequenced, in UTC at microsecond precision
	// (what PostgreSQL keeps).
	At time.Time
}

// EncodeLeaf returns the canonical bytes of a leaf, whose tlog.RecordHash is
// the leaf hash in the Merkle tree:
//
//	version  1 byte, LeafVersion
//	kind     4-byte big-endian length, then the kind's bytes
//	at       8-byte big-endian signed microseconds since the Unix epoch, UTC
//	payload  4-byte big-endian length, then the payload's bytes
//
// Nothing follows the payload. at is truncated to the microsecond, so the
// leaf re-encodes identically from the timestamp PostgreSQL stores. Every
// (kind, payload, at) has exactly one encoding and DecodeLeaf accepts no
// other. EncodeLeaf panics if kind or payload is 4 GiB or longer.
func EncodeLeaf(kind string, payload []byte, at time.Time) []byte {
	return appendLeaf(make([]byte, 0, leafHeader+len(kind)+len(payload)), kind, payload, at)
}

// appendLeaf appends EncodeLeaf(kind, payload, at) to b.
func appendLeaf(b []byte, kind string, payload []byte, at time.Time) []byte {
	if uint64(len(kind))>>32 != 0 || uint64(len(payload))>>32 != 0 {
		panic("translog: leaf field longer than 4 GiB")
	}
	b = append(b, LeafVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(len(kind)))
	b = append(b, kind...)
	b = binary.BigEndian.AppendUint64(b, uint64(at.UnixMicro()))
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

// DecodeLeaf parses a leaf made by EncodeLeaf. It returns ErrMalformedLeaf
// for anything else: another version, a length running past the end,
// trailing bytes. It does not check the kind: a verifier reports an unknown
// kind separately. The returned Payload shares b's memory.
func DecodeLeaf(b []byte) (Leaf, error) {
	bad := func(problem string) (Leaf, error) {
		return Leaf{}, fmt.Errorf("%w: %s", ErrMalformedLeaf, problem)
	}
	if len(b) < leafHeader {
		return bad(fmt.Sprintf("%d bytes, shorter than the %d-byte header", len(b), leafHeader))
	}
	if b[0] != LeafVersion {
		return bad(fmt.Sprintf("version %d, want %d", b[0], LeafVersion))
	}
	rest := b[1:]
	kindLen := uint64(binary.BigEndian.Uint32(rest))
	rest = rest[4:]
	if kindLen > uint64(len(rest))-8-4 {
		return bad("kind runs past the end")
	}
	kind := kindString(rest[:kindLen])
	rest = rest[kindLen:]
	micros := int64(binary.BigEndian.Uint64(rest))
	payloadLen := uint64(binary.BigEndian.Uint32(rest[8:]))
	rest = rest[12:]
	switch {
	case payloadLen > uint64(len(rest)):
		return bad("payload runs past the end")
	case payloadLen < uint64(len(rest)):
		return bad(fmt.Sprintf("%d bytes after the payload", uint64(len(rest))-payloadLen))
	}
	return Leaf{Kind: kind, Payload: rest, At: time.UnixMicro(micros).UTC()}, nil
}

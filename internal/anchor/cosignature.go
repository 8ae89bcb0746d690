package anchor

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// algCosignatureV1 is the signed-note key type of C2SP tlog-cosignature
// cosignature/v1 keys (timestamped Ed25519).
const algCosignatureV1 = 0x04

// NewCosignatureVerifier parses a witness's verifier key
// "<name>+<key hash>+<base64(0x04 || Ed25519 public key)>" and returns a
// note.Verifier of its cosignature/v1 signatures (c2sp.org/tlog-cosignature):
// an 8-byte big-endian timestamp followed by an Ed25519 signature over
//
//	cosignature/v1
//	time <timestamp>
//	<checkpoint text>
//
// (golang.org/x/mod/sumdb/note knows only Ed25519 keys, type 0x01.)
func NewCosignatureVerifier(vkey string) (note.Verifier, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash16, key64, ok2 := strings.Cut(rest, "+")
	hash, err1 := strconv.ParseUint(hash16, 16, 32)
	key, err2 := base64.StdEncoding.DecodeString(key64)
	if !ok1 || !ok2 || len(hash16) != 8 || err1 != nil || err2 != nil || !validName(name) {
		return nil, errors.New("anchor: malformed witness verifier key")
	}
	if len(key) != 1+ed25519.PublicKeySize || key[0] != algCosignatureV1 {
		return nil, errors.New("anchor: witness verifier key is not a cosignature/v1 (type 0x04) Ed25519 key")
	}
	if uint32(hash) != keyHash(name, key) {
		return nil, errors.New("anchor: witness verifier key hash does not match its name and key")
	}
	pub := ed25519.PublicKey(key[1:])
	return &cosignatureVerifier{name: name, hash: uint32(hash), pub: pub}, nil
}

type cosignatureVerifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

func (v *cosignatureVerifier) Name() string    { return v.name }
func (v *cosignatureVerifier) KeyHash() uint32 { return v.hash }

func (v *cosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	signed := fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", t, msg)
	return ed25519.Verify(v.pub, signed, sig[8:])
}

// keyHash is signed-note's key ID: the first four bytes of
// SHA-256(name || "\n" || key type || public key).
func keyHash(name string, key []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte("\n"))
	h.Write(key)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

func validName(name string) bool {
	return name != "" && utf8.ValidString(name) && !strings.ContainsFunc(name, unicode.IsSpace) && !strings.Contains(name, "+")
}

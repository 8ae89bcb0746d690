package kmsemu

import (
	"encoding/binary"
	"sort"
)

// Ciphertext blob layout (opaque to clients, like KMS's own):
//
//	version(1) = 1 | len(key id)(1) | key id | nonce(12) | AES-256-GCM sealed data and tag
//
// The additional authenticated data is the blob's header (version, key id)
// followed by the canonical encoding of the encryption context, so neither
// the key id nor the context can be changed without Decrypt failing.
const blobVersion = 1

func blobHeader(keyID string) []byte {
	return append([]byte{blobVersion, byte(len(keyID))}, keyID...)
}

// parseBlob splits a blob into its key id, header, nonce and sealed data.
func parseBlob(blob []byte, nonceSize int) (keyID string, header, nonce, sealed []byte, ok bool) {
	if len(blob) < 2 || blob[0] != blobVersion {
		return "", nil, nil, nil, false
	}
	n := int(blob[1])
	if len(blob) < 2+n+nonceSize+16 {
		return "", nil, nil, nil, false
	}
	header = blob[:2+n]
	return string(blob[2 : 2+n]), header, blob[2+n : 2+n+nonceSize], blob[2+n+nonceSize:], true
}

// contextAAD encodes an encryption context canonically: pairs sorted by key,
// each string length-prefixed, so that different contexts never collide.
func contextAAD(header []byte, ec map[string]string) []byte {
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	aad := append([]byte(nil), header...)
	for _, k := range keys {
		aad = binary.AppendUvarint(aad, uint64(len(k)))
		aad = append(aad, k...)
		aad = binary.AppendUvarint(aad, uint64(len(ec[k])))
		aad = append(aad, ec[k]...)
	}
	return aad
}

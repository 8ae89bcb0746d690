package ledger

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
)

// appendSignaturePayload appends what json.Marshal writes for the
// signaturePayload of e (e normalized), without encoding/json's
// reflection and escaping scan over the hex fields: EncodeSignature runs
// once per signature when it is recorded and once per row when `ledger
// verify` matches rows to leaves. TestEncodeSignatureMatchesJSON holds it
// to json.Marshal on edge cases and random strings.
func appendSignaturePayload(b []byte, e Entry) []byte {
	return appendPayloadTail(appendPayloadHead(b, e.ID), e)
}

// appendPayloadHead appends the payload's fields up to entry_id: the only
// one not known before the row is inserted.
func appendPayloadHead(b []byte, id int64) []byte {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, PayloadVersion, 10)
	b = append(b, `,"entry_id":`...)
	return strconv.AppendInt(b, id, 10)
}

// appendPayloadTail appends the payload's fields after entry_id.
func appendPayloadTail(b []byte, e Entry) []byte {
	b = appendStringField(b, `,"app_key":`, e.AppKey)
	b = appendStringField(b, `,"version":`, e.Version)
	b = appendStringField(b, `,"track":`, e.Track)
	b = appendStringField(b, `,"profile":`, e.Profile)
	b = append(b, `,"archive_size":`...)
	b = strconv.AppendInt(b, e.ArchiveSize, 10)
	b = appendHexField(b, `,"sha256":`, e.SHA256)
	b = appendHexField(b, `,"sha512":`, e.SHA512)
	b = appendStringField(b, `,"key_id":`, e.KeyID)
	b = append(b, `,"key_version":`...)
	b = strconv.AppendInt(b, int64(e.KeyVersion), 10)
	b = appendStringField(b, `,"cert_serial":`, e.CertSerial)
	b = appendHexField(b, `,"signature":`, e.Signature)
	if len(e.Statement) > 0 { // omitempty
		b = appendHexField(b, `,"statement":`, e.Statement)
	}
	b = appendStringField(b, `,"caller":`, e.Caller)
	b = appendStringField(b, `,"review_ref":`, e.ReviewRef)
	b = appendStringField(b, `,"idempotency_key":`, e.IdempotencyKey)
	b = append(b, `,"signed_at":"`...)
	b = e.SignedAt.AppendFormat(b, timeLayout)
	return append(b, `"}`...)
}

func appendHexField(b []byte, key string, v []byte) []byte {
	b = append(b, key...)
	b = append(b, '"')
	b = hex.AppendEncode(b, v)
	return append(b, '"')
}

// appendStringField writes s as json.Marshal does: printable ASCII other
// than the characters it escapes goes as is; anything else goes through
// json.Marshal itself.
func appendStringField(b []byte, key, s string) []byte {
	b = append(b, key...)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(s)
			if err != nil {
				panic("ledger: encode signature payload: " + err.Error()) // a string always marshals
			}
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

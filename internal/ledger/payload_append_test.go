package ledger

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// encodeSignatureJSON is EncodeSignature as it was written first, through
// encoding/json: the definition of the canonical payload.
func encodeSignatureJSON(t testing.TB, e Entry) []byte {
	t.Helper()
	e = e.normalize()
	b, err := json.Marshal(signaturePayload{
		V: PayloadVersion, EntryID: e.ID, AppKey: e.AppKey, Version: e.Version, Track: e.Track, Profile: e.Profile,
		ArchiveSize: e.ArchiveSize, SHA256: hex.EncodeToString(e.SHA256), SHA512: hex.EncodeToString(e.SHA512),
		KeyID: e.KeyID, KeyVersion: e.KeyVersion, CertSerial: e.CertSerial, Signature: hex.EncodeToString(e.Signature),
		Statement: hex.EncodeToString(e.Statement), Caller: e.Caller, ReviewRef: e.ReviewRef,
		IdempotencyKey: e.IdempotencyKey, SignedAt: e.SignedAt.Format(timeLayout),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEncodeSignatureMatchesJSON: the hand-written encoder writes exactly
// what encoding/json writes, for every text field the caller or a
// database row controls (quotes, backslashes, HTML characters, control
// characters, DEL, non-ASCII, U+2028, invalid UTF-8), for negative and
// extreme numbers, and with and without a statement, short or long; and on random
// strings.
func TestEncodeSignatureMatchesJSON(t *testing.T) {
	base := Entry{
		ID: 42, AppKey: "com.example.app", Version: "1.0.0", Track: TrackMarketplace, Profile: ProfileUPM,
		ArchiveSize: 1024, SHA256: bytes.Repeat([]byte{0xab}, 32), SHA512: bytes.Repeat([]byte{0xcd}, 64),
		KeyID: "marketplace-signing", KeyVersion: 3, CertSerial: "5eed01", Signature: bytes.Repeat([]byte{1}, 64),
		Caller: "spiffe://appsign/pipeline/review-1", ReviewRef: "REVIEW-1", IdempotencyKey: "k-1",
		SignedAt: time.Date(2026, 12, 6, 13, 0, 0, 123456789, time.FixedZone("x", 3600)),
	}
	texts := []string{"", `"quoted"`, `back\slash`, "<script>&amp;</script>", "tab\there\nnewline\r", "\x00\x01\x1f",
		"del\x7f", "naïve ünïcödé", "line\u2028sep\u2029", "bad \xff\xfe utf-8", "emoji 🙂", "/slash/"}
	cases := map[string]Entry{"plain": base}
	digest := base
	digest.Profile, digest.Statement = ProfileDigestV1, []byte("appsign.dev/digest-statement/v1\napp-key x\n")
	cases["digest statement"] = digest
	long := digest // statements run to kilobytes (the buffer is sized by them)
	long.Statement = bytes.Repeat([]byte("appsign.dev/digest-statement/v1\n"), 128)
	cases["4 KiB statement"] = long
	extreme := base
	extreme.ID, extreme.ArchiveSize, extreme.KeyVersion = -1, 1<<62, -2147483648
	cases["extreme numbers"] = extreme
	empty := base
	empty.Statement = []byte{}
	cases["empty statement"] = empty
	for _, s := range texts {
		for _, set := range []func(*Entry){
			func(e *Entry) { e.AppKey = s }, func(e *Entry) { e.Version = s }, func(e *Entry) { e.Track = s },
			func(e *Entry) { e.KeyID = s }, func(e *Entry) { e.CertSerial = s }, func(e *Entry) { e.Caller = s },
			func(e *Entry) { e.ReviewRef = s }, func(e *Entry) { e.IdempotencyKey = s },
		} {
			e := base
			set(&e)
			cases[s+" in a field"] = e
			if got, want := EncodeSignature(e), encodeSignatureJSON(t, e); !bytes.Equal(got, want) {
				t.Errorf("%q:\n got %s\nwant %s", s, got, want)
			}
		}
	}
	for name, e := range cases {
		if got, want := EncodeSignature(e), encodeSignatureJSON(t, e); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	r := rand.New(rand.NewPCG(13, 13))
	for range 2000 {
		e := base
		buf := make([]byte, r.IntN(24))
		for i := range buf {
			buf[i] = byte(r.IntN(256))
		}
		e.ReviewRef, e.Caller = string(buf), string(buf[:len(buf)/2])
		if got, want := EncodeSignature(e), encodeSignatureJSON(t, e); !bytes.Equal(got, want) {
			t.Fatalf("random %q:\n got %s\nwant %s", buf, got, want)
		}
	}
}

// TestRecordItemPayload: the payload a batch gives a row (the tail encoded
// before the row is queued, the id added once inserted) is EncodeSignature
// of the stored row, for the ids a sequence can give.
func TestRecordItemPayload(t *testing.T) {
	archive := benchEntry()
	archive.Profile, archive.Statement = ProfileUPM, nil
	for name, e := range map[string]Entry{"archive": archive, "digest": benchEntry()} {
		item := newRecordItem(e.normalize())
		for _, id := range []int64{1, 9, 10, 123456789, math.MaxInt64} {
			row := item.in
			row.ID = id
			if got, want := item.payload(id), EncodeSignature(row); !bytes.Equal(got, want) {
				t.Errorf("%s, id %d:\n got %s\nwant %s", name, id, got, want)
			}
		}
	}
}

// BenchmarkEncodeSignature compares the payload encoder with the
// encoding/json one it replaced (count instructions: -benchtime=Nx under
// cachegrind).
func BenchmarkEncodeSignature(b *testing.B) {
	e := benchEntry()
	b.Run("append", func(b *testing.B) {
		for b.Loop() {
			EncodeSignature(e)
		}
	})
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			encodeSignatureJSON(b, e)
		}
	})
}

func benchEntry() Entry {
	return Entry{
		ID: 42, AppKey: "com.example.app", Version: "1.0.0", Track: TrackMarketplace, Profile: ProfileDigestV1,
		ArchiveSize: 1024, SHA256: bytes.Repeat([]byte{0xab}, 32), SHA512: bytes.Repeat([]byte{0xcd}, 64),
		KeyID: "marketplace-signing", KeyVersion: 3, CertSerial: "5eed01", Signature: bytes.Repeat([]byte{1}, 64),
		Statement: bytes.Repeat([]byte("statement "), 35), Caller: "spiffe://appsign/pipeline/review-1",
		ReviewRef: "REVIEW-1", IdempotencyKey: "k-1", SignedAt: time.Date(2026, 12, 6, 13, 0, 0, 123456000, time.UTC),
	}
}

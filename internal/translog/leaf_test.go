package translog_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/translog"
)

func TestLeafRoundTrip(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		name    string
		kind    string
		payload []byte
		at      time.Time
		wantAt  time.Time
	}{
		{"signature", translog.KindSignature, []byte(`{"app":"com.example"}`),
			time.Date(2026, 3, 14, 15, 9, 26, 535897932, cet), time.Date(2026, 3, 14, 14, 9, 26, 535897000, time.UTC)},
		{"empty payload", translog.KindAdmin, nil,
			time.Unix(0, 0), time.Unix(0, 0).UTC()},
		{"binary payload", translog.KindKey, []byte{0, 1, 0xff, '\n'},
			time.Unix(1, 999), time.Unix(1, 0).UTC()},
		{"before 1970", translog.KindRevocation, []byte("x"),
			time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := translog.EncodeLeaf(tt.kind, tt.payload, tt.at)
			got, err := translog.DecodeLeaf(b)
			if err != nil {
				t.Fatalf("DecodeLeaf: %v", err)
			}
			if got.Kind != tt.kind || !bytes.Equal(got.Payload, tt.payload) || !got.At.Equal(tt.wantAt) || got.At.Location() != time.UTC {
				t.Errorf("decoded (%q, %q, %v), want (%q, %q, %v UTC)", got.Kind, got.Payload, got.At, tt.kind, tt.payload, tt.wantAt)
			}
			if again := translog.EncodeLeaf(got.Kind, got.Payload, got.At); !bytes.Equal(again, b) {
				t.Errorf("re-encoding differs:\n got %x\nwant %x", again, b)
			}
		})
	}
}

// TestLeafGolden pins the encoding: leaves already logged must keep their
// hashes forever.
func TestLeafGolden(t *testing.T) {
	b := translog.EncodeLeaf("key", []byte("ab"), time.UnixMicro(0x0102030405).UTC())
	const want = "01" + "00000003" + "6b6579" + "0000000102030405" + "00000002" + "6162"
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("EncodeLeaf = %s, want %s", got, want)
	}
}

func TestDecodeLeafRejects(t *testing.T) {
	good := translog.EncodeLeaf("admin", []byte("payload"), time.Unix(1700000000, 0))
	with := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name string
		leaf []byte
	}{
		{"empty", nil},
		{"header only, cut", good[:10]},
		{"version 2", with(func(b []byte) []byte { b[0] = 2; return b })},
		{"kind past the end", with(func(b []byte) []byte { b[4] = 0xff; return b })},
		{"payload past the end", good[:len(good)-1]},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"huge payload length", with(func(b []byte) []byte { b[1+4+5+8] = 0xff; return b })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := translog.DecodeLeaf(tt.leaf); !errors.Is(err, translog.ErrMalformedLeaf) {
				t.Errorf("DecodeLeaf = %v, want ErrMalformedLeaf", err)
			}
		})
	}
}

// TestDecodeLeafSmallest: a leaf with an empty kind and an empty payload is
// the header alone, and it decodes.
func TestDecodeLeafSmallest(t *testing.T) {
	b := translog.EncodeLeaf("", nil, time.UnixMicro(7))
	if len(b) != 1+4+8+4 {
		t.Fatalf("%d bytes, want the 17-byte header", len(b))
	}
	got, err := translog.DecodeLeaf(b)
	if err != nil || got.Kind != "" || len(got.Payload) != 0 || got.At.UnixMicro() != 7 {
		t.Fatalf("DecodeLeaf = %+v, %v; want the empty leaf at 7 µs", got, err)
	}
}

// TestDecodeLeafEveryKindLength: whatever kind length a forged leaf
// claims, DecodeLeaf refuses it with ErrMalformedLeaf, never reading past
// the end (a panic fails the test), unless it is the true length.
func TestDecodeLeafEveryKindLength(t *testing.T) {
	good := translog.EncodeLeaf("admin", []byte("payload"), time.Unix(1700000000, 0))
	for n := range uint32(len(good) + 16) {
		b := append([]byte(nil), good...)
		binary.BigEndian.PutUint32(b[1:], n)
		leaf, err := translog.DecodeLeaf(b)
		switch {
		case n == 5 && (err != nil || leaf.Kind != "admin" || string(leaf.Payload) != "payload"):
			t.Errorf("true kind length: %+v, %v", leaf, err)
		case n != 5 && !errors.Is(err, translog.ErrMalformedLeaf):
			t.Errorf("kind length %d: DecodeLeaf = %+v, %v; want ErrMalformedLeaf", n, leaf, err)
		}
	}
}

// TestDecodeLeafSaysHowManyTrailingBytes: the error names the count, for
// whoever has to find where the stored leaf was appended to.
func TestDecodeLeafSaysHowManyTrailingBytes(t *testing.T) {
	b := append(translog.EncodeLeaf("admin", []byte("p"), time.Unix(0, 0)), 0, 0, 0)
	_, err := translog.DecodeLeaf(b)
	if !errors.Is(err, translog.ErrMalformedLeaf) || !strings.Contains(err.Error(), ": 3 bytes after the payload") {
		t.Fatalf("DecodeLeaf = %v; want ErrMalformedLeaf naming 3 bytes after the payload", err)
	}
}

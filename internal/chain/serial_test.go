package chain

import (
	"bytes"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// TestNewSerialProperties: every draw is positive, fits RFC 5280's 20
// octets as a DER INTEGER, and none repeats over many draws (a generator
// that lost its randomness, or most of it, would repeat here).
func TestNewSerialProperties(t *testing.T) {
	const draws = 20000
	seen := make(map[string]bool, draws)
	longest := 0
	for range draws {
		n, err := newSerial(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if n.Sign() <= 0 {
			t.Fatalf("serial %x is not positive", n)
		}
		der, err := asn1.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		if octets := len(der) - 2; octets > 20 { // tag and short-form length
			t.Fatalf("serial %x takes %d octets, RFC 5280 allows 20", n, octets)
		} else if octets > longest {
			longest = octets
		}
		if n.BitLen() > 8*serialBytes {
			t.Fatalf("serial %x has %d bits, want at most %d", n, n.BitLen(), 8*serialBytes)
		}
		if seen[n.String()] {
			t.Fatalf("serial %x drawn twice in %d draws", n, draws)
		}
		seen[n.String()] = true
	}
	// Half of all draws have the top bit set and need DER's sign octet.
	if longest != serialBytes+1 {
		t.Errorf("longest serial took %d octets over %d draws, want %d", longest, draws, serialBytes+1)
	}
}

func TestNewSerialRefusesABrokenSource(t *testing.T) {
	tests := []struct {
		name string
		rand io.Reader
	}{
		{"no source", nil},
		{"only zeros", bytes.NewReader(make([]byte, 1024))},
		{"short read", bytes.NewReader([]byte{1, 2, 3})},
		{"read error", iotest.ErrReader(errors.New("entropy pool gone"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n, err := newSerial(tt.rand); err == nil {
				t.Fatalf("newSerial = %x, want an error", n)
			}
		})
	}
}

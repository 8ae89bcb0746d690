package eddsa

import (
	"crypto/ed25519"
	"crypto/sha512"
	"testing"

	"filippo.io/edwards25519"
)

// TestVerifyBatchRejectsNonCanonicalR: crypto/ed25519 (and OpenSSL) reject
// a signature whose R is not the canonical encoding of its point, even when
// the equation holds. A forger who knows nothing but uses r = 0 (R is the
// identity, y = 1) can write R three ways; only the canonical one may pass,
// or the batch verifier would accept signatures the installed verifier
// refuses (and one signature would have several valid encodings).
func TestVerifyBatchRejectsNonCanonicalR(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = 42
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	h := sha512.Sum512(seed)
	a, err := new(edwards25519.Scalar).SetBytesWithClamping(h[:32])
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("archive")

	// signWithR returns (R, S) with S = H(R || A || M)·a: valid for R = identity (r = 0).
	signWithR := func(r []byte) []byte {
		d := sha512.New()
		d.Write(r)
		d.Write(pub)
		d.Write(msg)
		k, err := new(edwards25519.Scalar).SetUniformBytes(d.Sum(nil))
		if err != nil {
			t.Fatal(err)
		}
		s := new(edwards25519.Scalar).Multiply(k, a)
		return append(append([]byte(nil), r...), s.Bytes()...)
	}
	identity := make([]byte, 32)
	identity[0] = 1 // y = 1, sign 0: canonical
	negZero := append([]byte(nil), identity...)
	negZero[31] |= 0x80 // y = 1 with the sign bit of x set, though x = 0
	// p = 2²⁵⁵ − 19, little-endian.
	fieldP := []byte{0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	onePlusP := append([]byte(nil), fieldP...)
	onePlusP[0]++ // y = p + 1 ≡ 1
	// (0, −1), the point of order 2, with the sign bit: never valid, as
	// crypto/ed25519 computes R' = identity for this S; the canonical
	// encoding is left out, see VerifyBatch's small-order caveat.
	minusOneNeg := append([]byte(nil), fieldP...)
	minusOneNeg[0]--
	minusOneNeg[31] |= 0x80

	tests := []struct {
		name string
		r    []byte
		ok   bool
	}{
		{"canonical identity", identity, true},
		{"identity with the sign bit", negZero, false},
		{"identity as y = p + 1", onePlusP, false},
		{"order-2 point with the sign bit", minusOneNeg, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := signWithR(tt.r)
			if std := ed25519.Verify(pub, msg, sig); std != tt.ok {
				t.Fatalf("crypto/ed25519.Verify = %v, want %v (the test's premise)", std, tt.ok)
			}
			err := VerifyBatch(pub, [][]byte{msg, msg}, [][]byte{sig, ed25519.Sign(priv, msg)})
			if (err == nil) != tt.ok {
				t.Fatalf("VerifyBatch = %v, want ok %v like crypto/ed25519", err, tt.ok)
			}
		})
	}
}

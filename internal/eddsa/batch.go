package eddsa

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"fmt"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// ErrBatchInvalid means at least one signature of a batch does not verify;
// VerifyBatch does not say which (check each with ed25519.Verify).
var ErrBatchInvalid = errors.New("eddsa: batch has an invalid signature")

// VerifyBatch checks that every sigs[i] is a pure Ed25519 signature of
// msgs[i] by pub, for about a quarter of the cost of checking each: one
// multi-scalar multiplication over the signatures' R points, weighted by
// random 128-bit coefficients z_i, tests
//
//	[Σ z_i·s_i]B − Σ [z_i]R_i − [Σ z_i·k_i]A = 0.
//
// Every batch of valid signatures passes (the equation is the sum of each
// signature's own, cofactorless as crypto/ed25519 and OpenSSL verify, so a
// batch never passes what they would refuse for a term with a prime-order
// part). Encodings are held to the same rules as crypto/ed25519: s must be
// canonical (< ℓ) and R's encoding must be the canonical one it compares
// against. A batch with any other invalid signature fails except with
// probability about 2⁻¹²⁸, with one exception inherent to batch
// verification: a signature off only by a small-order (torsion) point,
// which no honest or faulty signer makes by accident and only a signer
// holding the key could build, passes with probability up to 1/2.
// On ErrBatchInvalid, callers find the bad signatures one by one.
func VerifyBatch(pub ed25519.PublicKey, msgs, sigs [][]byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("eddsa: verify batch: public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if len(msgs) != len(sigs) {
		return fmt.Errorf("eddsa: verify batch: %d messages, %d signatures", len(msgs), len(sigs))
	}
	switch len(msgs) {
	case 0:
		return nil
	case 1: // one signature: the plain check is cheaper than the batch's setup
		if len(sigs[0]) != ed25519.SignatureSize || !ed25519.Verify(pub, msgs[0], sigs[0]) {
			return ErrBatchInvalid
		}
		return nil
	}
	A, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return ErrBatchInvalid
	}
	n := len(msgs)
	random := make([]byte, 16*n)
	if _, err := rand.Read(random); err != nil {
		return fmt.Errorf("eddsa: verify batch: coefficients: %w", err)
	}
	// points: B, A, R_1..R_n; scalars: Σ z·s, −Σ z·k, −z_1..−z_n.
	points := make([]*edwards25519.Point, 2, n+2)
	scalars := make([]*edwards25519.Scalar, 2, n+2)
	sumZS, sumZK := edwards25519.NewScalar(), edwards25519.NewScalar()
	var zBytes [32]byte
	var h [sha512.Size]byte
	for i, sig := range sigs {
		if len(sig) != ed25519.SignatureSize || !canonicalR(sig[:32]) {
			return ErrBatchInvalid
		}
		R, err := new(edwards25519.Point).SetBytes(sig[:32])
		if err != nil {
			return ErrBatchInvalid
		}
		s, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:])
		if err != nil {
			return ErrBatchInvalid
		}
		d := sha512.New()
		d.Write(sig[:32])
		d.Write(pub)
		d.Write(msgs[i])
		k, err := edwards25519.NewScalar().SetUniformBytes(d.Sum(h[:0]))
		if err != nil {
			return fmt.Errorf("eddsa: verify batch: %w", err)
		}
		copy(zBytes[:16], random[16*i:])
		z, err := edwards25519.NewScalar().SetCanonicalBytes(zBytes[:]) // < 2¹²⁸ < ℓ
		if err != nil {
			return fmt.Errorf("eddsa: verify batch: %w", err)
		}
		sumZS.MultiplyAdd(z, s, sumZS)
		sumZK.MultiplyAdd(z, k, sumZK)
		points = append(points, R)
		scalars = append(scalars, edwards25519.NewScalar().Negate(z))
	}
	points[0], scalars[0] = edwards25519.NewGeneratorPoint(), sumZS
	points[1], scalars[1] = A, edwards25519.NewScalar().Negate(sumZK)
	sum := new(edwards25519.Point).VarTimeMultiScalarMult(scalars, points)
	if sum.Equal(edwards25519.NewIdentityPoint()) != 1 {
		return ErrBatchInvalid
	}
	return nil
}

// canonicalR reports whether enc is the canonical encoding of the point it
// decodes to: crypto/ed25519 compares R's bytes with the encoding of the
// point it computes, so any other encoding of the right point fails there
// and must fail here. The non-canonical encodings are y ≥ p and, for the
// two points with x = 0 (y = ±1), the sign bit set. field.Element.SetBytes
// reduces y modulo p, so y is canonical when its re-encoding is y itself.
func canonicalR(enc []byte) bool {
	y := [32]byte(enc)
	y[31] &= 0x7f
	fy, err := new(field.Element).SetBytes(y[:])
	if err != nil || !bytes.Equal(fy.Bytes(), y[:]) {
		return false
	}
	if enc[31]&0x80 == 0 {
		return true
	}
	one := new(field.Element).One()
	minusOne := new(field.Element).Negate(one)
	return fy.Equal(one) == 0 && fy.Equal(minusOne) == 0
}

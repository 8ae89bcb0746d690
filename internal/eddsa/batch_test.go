package eddsa

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	"filippo.io/edwards25519"
)

// batchOf returns n messages of random sizes and their signatures by priv.
func batchOf(t testing.TB, seed uint64, priv ed25519.PrivateKey, n int) (msgs, sigs [][]byte) {
	t.Helper()
	r := newRand(seed)
	for range n {
		m := randBytes(r, r.IntN(300))
		msgs = append(msgs, m)
		sigs = append(sigs, ed25519.Sign(priv, m))
	}
	return msgs, sigs
}

// TestVerifyBatchAcceptsValid: every batch of valid signatures passes, at
// every size (1 takes the single-signature path).
func TestVerifyBatchAcceptsValid(t *testing.T) {
	pub, priv := randKey(newRand(10))
	for _, n := range []int{0, 1, 2, 3, 64, 257} {
		msgs, sigs := batchOf(t, uint64(n), priv, n)
		if err := VerifyBatch(pub, msgs, sigs); err != nil {
			t.Errorf("%d valid signatures: %v", n, err)
		}
	}
}

// TestVerifyBatchRejectsLikeStdlib puts one signature crypto/ed25519
// refuses among valid ones, at the start, middle and end of the batch:
// the batch fails. Torsion-only changes are left out: batch verification
// accepts them with probability up to 1/2 (see VerifyBatch).
func TestVerifyBatchRejectsLikeStdlib(t *testing.T) {
	r := newRand(11)
	pub, priv := randKey(r)
	otherPub, otherPriv := randKey(r)
	msg := randBytes(r, 100)
	sig := ed25519.Sign(priv, msg)
	nonCanonicalIdentity := mustHex(t, "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	identity := edwards25519.NewIdentityPoint().Bytes()
	negZeroIdentity := bytes.Clone(identity)
	negZeroIdentity[31] |= 0x80
	bad := []struct {
		name     string
		msg, sig []byte
	}{
		{"bit of R flipped", msg, flipBit(sig, 3)},
		{"bit of S flipped", msg, flipBit(sig, 300)},
		{"message changed", flipBit(msg, 17), sig},
		{"S + l (non-canonical S)", msg, addToS(t, sig, 1)},
		{"signed by another key", msg, ed25519.Sign(otherPriv, msg)},
		{"R non-canonical (y = p + 1)", msg, append(bytes.Clone(nonCanonicalIdentity), sig[32:]...)},
		{"R identity with the sign bit set", msg, append(negZeroIdentity, sig[32:]...)},
		{"R all ones", msg, append(bytes.Repeat([]byte{0xff}, 32), sig[32:]...)},
		{"short signature", msg, sig[:63]},
		{"long signature", msg, append(bytes.Clone(sig), 0)},
	}
	for _, b := range bad {
		if ed25519.Verify(pub, b.msg, b.sig) {
			t.Fatalf("%s: crypto/ed25519 accepts it; the case tests nothing", b.name)
		}
		for _, at := range []int{0, 7, 15} {
			msgs, sigs := batchOf(t, 12, priv, 16)
			msgs[at], sigs[at] = b.msg, b.sig
			if err := VerifyBatch(pub, msgs, sigs); !errors.Is(err, ErrBatchInvalid) {
				t.Errorf("%s at %d of 16: VerifyBatch = %v, want ErrBatchInvalid", b.name, at, err)
			}
		}
	}
	// The whole batch under the wrong public key.
	msgs, sigs := batchOf(t, 13, priv, 8)
	if err := VerifyBatch(otherPub, msgs, sigs); !errors.Is(err, ErrBatchInvalid) {
		t.Errorf("wrong key: VerifyBatch = %v, want ErrBatchInvalid", err)
	}
	// Two bad signatures whose errors would cancel with equal coefficients.
	msgs, sigs = batchOf(t, 14, priv, 8)
	sigs[2], sigs[5] = addToSmall(t, sigs[2], 1), addToSmall(t, sigs[5], -1)
	if err := VerifyBatch(pub, msgs, sigs); !errors.Is(err, ErrBatchInvalid) {
		t.Errorf("errors that cancel under equal weights: VerifyBatch = %v, want ErrBatchInvalid", err)
	}
}

// addToSmall adds d (±1) to S mod l: a signature off by [d]B, whose error
// cancels another's if the batch did not weigh them randomly.
func addToSmall(t testing.TB, sig []byte, d int) []byte {
	t.Helper()
	s, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:])
	if err != nil {
		t.Fatal(err)
	}
	one, _ := edwards25519.NewScalar().SetCanonicalBytes(append([]byte{1}, make([]byte, 31)...))
	if d < 0 {
		s.Subtract(s, one)
	} else {
		s.Add(s, one)
	}
	return append(bytes.Clone(sig[:32]), s.Bytes()...)
}

func TestVerifyBatchBadArguments(t *testing.T) {
	pub, priv := randKey(newRand(15))
	msgs, sigs := batchOf(t, 16, priv, 3)
	if err := VerifyBatch(pub[:31], msgs, sigs); err == nil {
		t.Error("31-byte key accepted")
	}
	if err := VerifyBatch(pub, msgs, sigs[:2]); err == nil {
		t.Error("3 messages with 2 signatures accepted")
	}
}

// BenchmarkVerifyBatch reports the cost per signature of a batch of 100
// (compare BenchmarkVerifyOne; run with -benchtime=Nx under perf stat or
// callgrind for figures that do not depend on the machine's load).
func BenchmarkVerifyBatch(b *testing.B) {
	pub, priv := randKey(newRand(17))
	msgs, sigs := batchOf(b, 18, priv, 100)
	for b.Loop() {
		if err := VerifyBatch(pub, msgs, sigs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyOne verifies the same 100 signatures one by one.
func BenchmarkVerifyOne(b *testing.B) {
	pub, priv := randKey(newRand(17))
	msgs, sigs := batchOf(b, 18, priv, 100)
	for b.Loop() {
		for i := range msgs {
			if !ed25519.Verify(pub, msgs[i], sigs[i]) {
				b.Fatal("invalid")
			}
		}
	}
}

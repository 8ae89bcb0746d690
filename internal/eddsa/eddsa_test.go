package eddsa

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"filippo.io/edwards25519"
)

// newRand returns a deterministic generator, so failures reproduce.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// randBytes returns n pseudo-random bytes drawn deterministically from r.
func randBytes(r *rand.Rand, n int) []byte {
	var s [32]byte
	for i := 0; i < len(s); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			s[i+j] = byte(v >> (8 * j))
		}
	}
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}

func randKey(r *rand.Rand) (ed25519.PublicKey, ed25519.PrivateKey) {
	priv := ed25519.NewKeyFromSeed(randBytes(r, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// chunkyReaderAt serves data in short, random-length reads, sometimes empty,
// and returns io.EOF together with the last bytes, as io.ReaderAt allows.
type chunkyReaderAt struct {
	data []byte
	r    *rand.Rand
}

func (c *chunkyReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(c.data)) {
		return 0, io.EOF
	}
	n := len(p)
	if n > 0 {
		n = c.r.IntN(n + 1) // may be 0: a short read without error
	}
	n = copy(p[:n], c.data[off:])
	if off+int64(n) == int64(len(c.data)) {
		return n, io.EOF
	}
	return n, nil
}

// randWrites writes msg to w in pieces of random length.
func randWrites(t testing.TB, r *rand.Rand, w io.Writer, msg []byte) {
	t.Helper()
	for len(msg) > 0 {
		n := min(len(msg), 1+r.IntN(200_000))
		if m, err := w.Write(msg[:n]); m != n || err != nil {
			t.Fatalf("Write = %d, %v; want %d, nil", m, err, n)
		}
		msg = msg[n:]
	}
}

func TestSignAndVerifyMatchStdlib(t *testing.T) {
	ctx := context.Background()
	r := newRand(1)
	sizes := []int{
		0, 1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 1000, 4096,
		parallelMin - 1, parallelMin, parallelMin + 1,
		bufSize - 1, bufSize, bufSize + 1,
		2*bufSize - 1, 2*bufSize + 1,
	}
	for range 3 {
		sizes = append(sizes, r.IntN(3*bufSize))
	}
	for _, size := range sizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			pub, priv := randKey(r)
			msg := randBytes(r, size)
			want := ed25519.Sign(priv, msg)

			got, err := Sign(ctx, priv, bytes.NewReader(msg), int64(size))
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Sign = %x\nwant   %x", got, want)
			}
			got, err = Sign(ctx, priv, &chunkyReaderAt{msg, r}, int64(size))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Sign(chunky reader) = %x, %v; want %x", got, err, want)
			}
			// Bytes past size are not part of the message.
			longer := append(bytes.Clone(msg), randBytes(r, 1+r.IntN(100))...)
			got, err = Sign(ctx, priv, bytes.NewReader(longer), int64(size))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Sign(longer reader) = %x, %v; want %x", got, err, want)
			}

			if !ed25519.Verify(pub, msg, got) {
				t.Fatal("ed25519.Verify rejects our signature")
			}
			if err := Verify(ctx, pub, bytes.NewReader(msg), got); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			// Short reads, and io.EOF returned with the last bytes.
			if err := Verify(ctx, pub, iotest.DataErrReader(iotest.HalfReader(bytes.NewReader(msg))), got); err != nil {
				t.Fatalf("Verify(half reader): %v", err)
			}
			v, err := NewVerifier(pub, got)
			if err != nil {
				t.Fatalf("NewVerifier: %v", err)
			}
			randWrites(t, r, v, msg)
			if err := v.Verify(); err != nil {
				t.Fatalf("Verifier.Verify: %v", err)
			}
		})
	}
}

func TestManyKeysSmallMessages(t *testing.T) {
	ctx := context.Background()
	r := newRand(2)
	for i := range 200 {
		pub, priv := randKey(r)
		msg := randBytes(r, r.IntN(300))
		want := ed25519.Sign(priv, msg)
		got, err := Sign(ctx, priv, bytes.NewReader(msg), int64(len(msg)))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("#%d (len %d): Sign = %x, %v; want %x", i, len(msg), got, err, want)
		}
		if err := Verify(ctx, pub, bytes.NewReader(msg), got); err != nil {
			t.Fatalf("#%d: Verify: %v", i, err)
		}
	}
}

// RFC 8032, section 7.1, the Ed25519 test vectors.
var rfc8032Vectors = []struct {
	name, secret, public, message, signature string
}{
	{
		name:      "TEST 1",
		secret:    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		public:    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
		message:   "",
		signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
	},
	{
		name:      "TEST 2",
		secret:    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		public:    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
		message:   "72",
		signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
	},
	{
		name:      "TEST 3",
		secret:    "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
		public:    "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
		message:   "af82",
		signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
	},
	{
		name:   "TEST 1024",
		secret: "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
		public: "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
		message: "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98" +
			"fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8" +
			"79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d" +
			"658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc" +
			"1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe" +
			"ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e" +
			"06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef" +
			"efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7" +
			"aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1" +
			"85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2" +
			"d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24" +
			"554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270" +
			"88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc" +
			"2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07" +
			"07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba" +
			"b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a" +
			"ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e" +
			"c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7" +
			"51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c" +
			"42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8" +
			"ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df" +
			"f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08" +
			"d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649" +
			"de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4" +
			"88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3" +
			"2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e" +
			"6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f" +
			"b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5" +
			"0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1" +
			"369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d" +
			"b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c" +
			"0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0",
		signature: "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
	},
	{
		name:      "TEST SHA(abc)",
		secret:    "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
		public:    "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
		message:   "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
		signature: "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
	},
}

func TestRFC8032Vectors(t *testing.T) {
	ctx := context.Background()
	for _, tv := range rfc8032Vectors {
		t.Run(tv.name, func(t *testing.T) {
			priv := ed25519.NewKeyFromSeed(mustHex(t, tv.secret))
			pub := ed25519.PublicKey(mustHex(t, tv.public))
			msg := mustHex(t, tv.message)
			want := mustHex(t, tv.signature)
			if !bytes.Equal(priv.Public().(ed25519.PublicKey), pub) {
				t.Fatalf("public key from seed = %x, want %x", priv.Public(), pub)
			}
			if tv.name == "TEST 1024" && len(msg) != 1023 {
				t.Fatalf("TEST 1024 message is %d bytes, want 1023", len(msg))
			}
			if !ed25519.Verify(pub, msg, want) {
				t.Fatal("vector does not verify with crypto/ed25519 (mistyped?)")
			}
			got, err := Sign(ctx, priv, bytes.NewReader(msg), int64(len(msg)))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Sign = %x, %v\nwant   %x", got, err, want)
			}
			if err := Verify(ctx, pub, bytes.NewReader(msg), want); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if len(msg) > 0 {
				bad := bytes.Clone(msg)
				bad[0] ^= 1
				if err := Verify(ctx, pub, bytes.NewReader(bad), want); !errors.Is(err, ErrInvalidSignature) {
					t.Fatalf("Verify(modified message) = %v, want ErrInvalidSignature", err)
				}
			}
		})
	}
}

// l is the order of the prime-order subgroup, 2^252 + 27742317777372353535851937790883648493.
var l = func() *big.Int {
	n, _ := new(big.Int).SetString("27742317777372353535851937790883648493", 10)
	return n.Add(n, new(big.Int).Lsh(big.NewInt(1), 252))
}()

// addToS returns sig with its little-endian S replaced by S + n·l.
func addToS(t testing.TB, sig []byte, n int64) []byte {
	t.Helper()
	le := bytes.Clone(sig[32:])
	for i, j := 0, len(le)-1; i < j; i, j = i+1, j-1 {
		le[i], le[j] = le[j], le[i]
	}
	s := new(big.Int).SetBytes(le)
	s.Add(s, new(big.Int).Mul(l, big.NewInt(n)))
	be := s.FillBytes(make([]byte, 32)) // panics if it does not fit: n must be small
	out := bytes.Clone(sig)
	for i := range 32 {
		out[32+i] = be[31-i]
	}
	return out
}

type verifyCase struct {
	name     string
	pub, msg []byte
	sig      []byte
}

// checkAgreement verifies c with crypto/ed25519 and with this package (both
// Verify and Verifier) and fails unless all agree. It returns the verdict.
func checkAgreement(t *testing.T, c verifyCase) bool {
	t.Helper()
	want := ed25519.Verify(c.pub, c.msg, c.sig)
	err := Verify(context.Background(), c.pub, bytes.NewReader(c.msg), c.sig)
	if (err == nil) != want {
		t.Errorf("%s: Verify = %v, crypto/ed25519 says valid=%v", c.name, err, want)
	}
	if err != nil && !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("%s: Verify = %v, want an ErrInvalidSignature", c.name, err)
	}
	v, err := NewVerifier(c.pub, c.sig)
	if err == nil {
		v.Write(c.msg)
		err = v.Verify()
	}
	if (err == nil) != want {
		t.Errorf("%s: Verifier = %v, crypto/ed25519 says valid=%v", c.name, err, want)
	}
	if err != nil && !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("%s: Verifier = %v, want an ErrInvalidSignature", c.name, err)
	}
	return want
}

func flipBit(b []byte, bit int) []byte {
	out := bytes.Clone(b)
	out[bit/8] ^= 1 << (bit % 8)
	return out
}

func TestVerifyRejectsLikeStdlib(t *testing.T) {
	r := newRand(3)
	_, otherPriv := randKey(r)
	otherPub := otherPriv.Public().(ed25519.PublicKey)
	for _, size := range []int{0, 1, 100, bufSize + 3} {
		pub, priv := randKey(r)
		msg := randBytes(r, size)
		sig := ed25519.Sign(priv, msg)
		cases := []verifyCase{
			{"valid", pub, msg, sig},
			{"wrong key", otherPub, msg, sig},
			{"signature by another key", pub, msg, ed25519.Sign(otherPriv, msg)},
			{"zero signature", pub, msg, make([]byte, 64)},
			{"extended message", pub, append(bytes.Clone(msg), 0), sig},
			{"S + l", pub, msg, addToS(t, sig, 1)},
			{"S + 2l", pub, msg, addToS(t, sig, 2)},
			{"S + 8l", pub, msg, addToS(t, sig, 8)},
			{"R and S swapped", pub, msg, append(bytes.Clone(sig[32:]), sig[:32]...)},
		}
		if size > 0 {
			cases = append(cases,
				verifyCase{"truncated message", pub, msg[:size-1], sig},
				verifyCase{"empty message", pub, nil, sig},
				verifyCase{"first message bit", pub, flipBit(msg, 0), sig},
				verifyCase{"last message bit", pub, flipBit(msg, 8*size-1), sig},
				verifyCase{"random message bit", pub, flipBit(msg, r.IntN(8*size)), sig},
			)
		}
		for _, bit := range []int{0, 7, 8*31 + 7, r.IntN(256), r.IntN(256)} {
			cases = append(cases, verifyCase{fmt.Sprintf("R bit %d", bit), pub, msg, flipBit(sig, bit)})
		}
		for _, bit := range []int{256, 8*63 + 4, 8*63 + 5, 8*63 + 6, 8*63 + 7, 256 + r.IntN(256), 256 + r.IntN(256)} {
			cases = append(cases, verifyCase{fmt.Sprintf("S bit %d", bit-256), pub, msg, flipBit(sig, bit)})
		}
		for _, bit := range []int{0, 8*31 + 7, r.IntN(256)} {
			cases = append(cases, verifyCase{fmt.Sprintf("key bit %d", bit), flipBit(pub, bit), msg, sig})
		}
		for _, c := range cases {
			c.name = fmt.Sprintf("size %d: %s", size, c.name)
			valid := checkAgreement(t, c)
			if valid != (c.name == fmt.Sprintf("size %d: valid", size)) {
				t.Errorf("%s: crypto/ed25519 says valid=%v, which this test does not expect", c.name, valid)
			}
		}
	}
}

// TestVerifyEdgeCasesLikeStdlib covers the corners where Ed25519 verifiers
// are known to differ (small-order and non-canonical points): whatever
// crypto/ed25519 decides there, this package must decide the same.
func TestVerifyEdgeCasesLikeStdlib(t *testing.T) {
	identity := edwards25519.NewIdentityPoint().Bytes()
	// y = p + 1: a non-canonical encoding of the identity, which decodes.
	nonCanonicalIdentity := mustHex(t, "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	if _, err := new(edwards25519.Point).SetBytes(nonCanonicalIdentity); err != nil {
		t.Fatalf("non-canonical identity does not decode: %v", err)
	}
	// A point of order 8.
	order8 := mustHex(t, "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
	p8, err := new(edwards25519.Point).SetBytes(order8)
	if err != nil {
		t.Fatalf("order-8 point does not decode: %v", err)
	}
	if q := new(edwards25519.Point).MultByCofactor(p8); q.Equal(edwards25519.NewIdentityPoint()) != 1 {
		t.Fatal("order-8 point: [8]P is not the identity")
	}
	// A 32-byte string that is not the encoding of any point.
	var notAPoint []byte
	for y := byte(2); ; y++ {
		cand := make([]byte, 32)
		cand[0] = y
		if _, err := new(edwards25519.Point).SetBytes(cand); err != nil {
			notAPoint = cand
			break
		}
	}

	r := newRand(4)
	pub, priv := randKey(r)
	msg := randBytes(r, 77)
	sig := ed25519.Sign(priv, msg)
	a, _ := new(edwards25519.Point).SetBytes(pub)
	pubPlusT := new(edwards25519.Point).Add(a, p8).Bytes()
	rPoint, _ := new(edwards25519.Point).SetBytes(sig[:32])
	sigRPlusT := append(new(edwards25519.Point).Add(rPoint, p8).Bytes(), sig[32:]...)
	zeroS := make([]byte, 32)
	cases := []verifyCase{
		{"identity key, R = identity, S = 0", identity, msg, append(bytes.Clone(identity), zeroS...)},
		{"non-canonical identity key, R = identity, S = 0", nonCanonicalIdentity, msg, append(bytes.Clone(identity), zeroS...)},
		{"identity key, non-canonical R, S = 0", identity, msg, append(bytes.Clone(nonCanonicalIdentity), zeroS...)},
		{"order-8 key, R = identity, S = 0", order8, msg, append(bytes.Clone(identity), zeroS...)},
		{"order-8 key, R = order-8 point, S = 0", order8, msg, append(bytes.Clone(order8), zeroS...)},
		{"key + order-8 point", pubPlusT, msg, sig},
		{"R + order-8 point", pub, msg, sigRPlusT},
		{"undecodable key", notAPoint, msg, sig},
		{"all-zero key", make([]byte, 32), msg, sig},
		{"all-ones key", bytes.Repeat([]byte{0xff}, 32), msg, sig},
	}
	for _, c := range cases {
		t.Logf("%s: crypto/ed25519 valid=%v", c.name, checkAgreement(t, c))
	}
	// Spot-check the documented verdicts, so the agreement is not vacuous.
	if !ed25519.Verify(identity, msg, append(bytes.Clone(identity), zeroS...)) {
		t.Error("expected crypto/ed25519 to accept the identity-key signature (cofactorless, no small-order check)")
	}
	if err := Verify(context.Background(), notAPoint, bytes.NewReader(msg), sig); !errors.Is(err, ErrInvalidSignature) || !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Verify(undecodable key) = %v, want both ErrInvalidSignature and ErrInvalidKey", err)
	}
}

// TestVerifyRandomMutations compares verdicts on signatures with random
// bytes changed or replaced, on messages of random small size.
func TestVerifyRandomMutations(t *testing.T) {
	r := newRand(5)
	for i := range 300 {
		pub, priv := randKey(r)
		msg := randBytes(r, r.IntN(200))
		sig := ed25519.Sign(priv, msg)
		c := verifyCase{fmt.Sprintf("#%d", i), pub, msg, bytes.Clone(sig)}
		switch r.IntN(5) {
		case 0:
			c.sig[r.IntN(64)] = byte(r.Uint32())
		case 1:
			c.sig = randBytes(r, 64)
			c.sig[63] &= 0x0f // S is canonical more often than not
		case 2:
			if len(msg) > 0 {
				c.msg = bytes.Clone(msg)
				c.msg[r.IntN(len(msg))] ^= byte(1 + r.IntN(255))
			}
		case 3:
			c.pub = randBytes(r, 32)
		case 4: // unchanged: valid
		}
		checkAgreement(t, c)
	}
}

func TestBadLengths(t *testing.T) {
	ctx := context.Background()
	r := newRand(6)
	pub, priv := randKey(r)
	msg := []byte("message")
	sig := ed25519.Sign(priv, msg)

	for _, n := range []int{0, 1, 63, 65, 128} {
		bad := make([]byte, n)
		copy(bad, sig)
		if ed25519.Verify(pub, msg, bad) {
			t.Fatalf("crypto/ed25519 accepts a %d-byte signature", n)
		}
		if err := Verify(ctx, pub, bytes.NewReader(msg), bad); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("Verify(%d-byte signature) = %v, want ErrInvalidSignature", n, err)
		}
		if _, err := NewVerifier(pub, bad); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("NewVerifier(%d-byte signature) = %v, want ErrInvalidSignature", n, err)
		}
	}
	for _, n := range []int{0, 1, 31, 33, 64} {
		bad := make([]byte, n)
		copy(bad, pub)
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("crypto/ed25519.Verify did not panic on a %d-byte key", n)
				}
			}()
			ed25519.Verify(bad, msg, sig)
		}()
		err := Verify(ctx, bad, bytes.NewReader(msg), sig)
		if !errors.Is(err, ErrInvalidKey) || errors.Is(err, ErrInvalidSignature) {
			t.Errorf("Verify(%d-byte key) = %v, want ErrInvalidKey only", n, err)
		}
		if _, err := NewVerifier(bad, sig); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("NewVerifier(%d-byte key) = %v, want ErrInvalidKey", n, err)
		}
	}
	for _, n := range []int{0, 1, 32, 63, 65} {
		bad := make([]byte, n)
		copy(bad, priv)
		if _, err := Sign(ctx, bad, bytes.NewReader(msg), int64(len(msg))); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Sign(%d-byte private key) = %v, want ErrInvalidKey", n, err)
		}
	}
}

// TestSignMismatchedPrivateKey: like crypto/ed25519, Sign trusts priv[32:]
// as the public key; the output must still be identical.
func TestSignMismatchedPrivateKey(t *testing.T) {
	r := newRand(7)
	_, priv := randKey(r)
	otherPub, _ := randKey(r)
	mixed := append(bytes.Clone(priv[:32]), otherPub...)
	msg := randBytes(r, 1000)
	want := ed25519.Sign(mixed, msg)
	got, err := Sign(context.Background(), mixed, bytes.NewReader(msg), int64(len(msg)))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Sign = %x, %v; want %x", got, err, want)
	}
}

// funcReaderAt adapts a function to io.ReaderAt.
type funcReaderAt func(p []byte, off int64) (int, error)

func (f funcReaderAt) ReadAt(p []byte, off int64) (int, error) { return f(p, off) }

// funcReader adapts a function to io.Reader.
type funcReader func(p []byte) (int, error)

func (f funcReader) Read(p []byte) (int, error) { return f(p) }

var errBoom = errors.New("boom")

func TestSignErrors(t *testing.T) {
	r := newRand(8)
	_, priv := randKey(r)
	msg := randBytes(r, 3*bufSize+5)
	ctx := context.Background()

	t.Run("short message", func(t *testing.T) {
		for _, n := range []int{0, 100, bufSize, bufSize + 10} {
			sig, err := Sign(ctx, priv, bytes.NewReader(msg[:n]), int64(n)+1)
			if !errors.Is(err, io.ErrUnexpectedEOF) || sig != nil {
				t.Errorf("Sign(%d bytes, size %d) = %x, %v; want io.ErrUnexpectedEOF", n, n+1, sig, err)
			}
			sig, err = Sign(ctx, priv, &chunkyReaderAt{msg[:n], r}, int64(n)+bufSize)
			if !errors.Is(err, io.ErrUnexpectedEOF) || sig != nil {
				t.Errorf("Sign(chunky %d bytes, size %d) = %x, %v; want io.ErrUnexpectedEOF", n, n+bufSize, sig, err)
			}
		}
	})
	t.Run("negative size", func(t *testing.T) {
		if _, err := Sign(ctx, priv, bytes.NewReader(msg), -1); err == nil {
			t.Error("Sign(size -1) succeeded")
		}
	})
	t.Run("nil reader", func(t *testing.T) {
		if _, err := Sign(ctx, priv, nil, 0); err == nil {
			t.Error("Sign(nil reader) succeeded")
		}
	})
	t.Run("cancelled before start", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		reads := 0
		ra := funcReaderAt(func(p []byte, off int64) (int, error) {
			reads++
			return bytes.NewReader(msg).ReadAt(p, off)
		})
		sig, err := Sign(cctx, priv, ra, int64(len(msg)))
		if !errors.Is(err, context.Canceled) || sig != nil || reads != 0 {
			t.Errorf("Sign = %x, %v after %d reads; want context.Canceled after 0 reads", sig, err, reads)
		}
	})
	t.Run("deadline exceeded", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 0)
		defer cancel()
		if _, err := Sign(cctx, priv, bytes.NewReader(msg), int64(len(msg))); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Sign = %v, want context.DeadlineExceeded", err)
		}
	})
	for _, pass := range []int{1, 2} {
		t.Run(fmt.Sprintf("cancelled during pass %d", pass), func(t *testing.T) {
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			reads := 0
			cancelAt := 1 + (pass-1)*4 // the message is 4 buffers long
			ra := funcReaderAt(func(p []byte, off int64) (int, error) {
				if reads++; reads == cancelAt {
					cancel()
				}
				return bytes.NewReader(msg).ReadAt(p, off)
			})
			sig, err := Sign(cctx, priv, ra, int64(len(msg)))
			if !errors.Is(err, context.Canceled) || sig != nil || reads != cancelAt {
				t.Errorf("Sign = %x, %v after %d reads; want context.Canceled after %d reads", sig, err, reads, cancelAt)
			}
		})
	}
	t.Run("read error", func(t *testing.T) {
		ra := funcReaderAt(func(p []byte, off int64) (int, error) {
			if off >= 2*bufSize {
				return 0, errBoom
			}
			return bytes.NewReader(msg).ReadAt(p, off)
		})
		if _, err := Sign(ctx, priv, ra, int64(len(msg))); !errors.Is(err, errBoom) {
			t.Errorf("Sign = %v, want errBoom", err)
		}
	})
	t.Run("no progress", func(t *testing.T) {
		ra := funcReaderAt(func(p []byte, off int64) (int, error) { return 0, nil })
		if _, err := Sign(ctx, priv, ra, 10); !errors.Is(err, io.ErrNoProgress) {
			t.Errorf("Sign = %v, want io.ErrNoProgress", err)
		}
	})
}

// TestSignDetectsChangedMessage: a message that changes between the two
// passes must not be signed (two such signatures would reveal the key).
func TestSignDetectsChangedMessage(t *testing.T) {
	r := newRand(9)
	_, priv := randKey(r)
	for _, size := range []int{1, 100, parallelMin + 7, 2*bufSize + 5} {
		for _, where := range []int{0, size / 2, size - 1} {
			msg := randBytes(r, size)
			changed := bytes.Clone(msg)
			changed[where] ^= 0x40
			served := 0
			ra := funcReaderAt(func(p []byte, off int64) (int, error) {
				src := msg
				if served >= size { // pass one is over
					src = changed
				}
				n, err := bytes.NewReader(src).ReadAt(p, off)
				served += n
				return n, err
			})
			sig, err := Sign(context.Background(), priv, ra, int64(size))
			if !errors.Is(err, ErrMessageChanged) || sig != nil {
				t.Errorf("size %d, byte %d changed: Sign = %x, %v; want ErrMessageChanged", size, where, sig, err)
			}
		}
	}
}

func TestVerifyErrors(t *testing.T) {
	r := newRand(10)
	pub, priv := randKey(r)
	msg := randBytes(r, 3*bufSize)
	sig := ed25519.Sign(priv, msg)
	ctx := context.Background()

	t.Run("read error", func(t *testing.T) {
		rd := io.MultiReader(bytes.NewReader(msg[:bufSize+1]), iotest.ErrReader(errBoom))
		err := Verify(ctx, pub, rd, sig)
		if !errors.Is(err, errBoom) || errors.Is(err, ErrInvalidSignature) {
			t.Errorf("Verify = %v, want errBoom and not ErrInvalidSignature", err)
		}
	})
	t.Run("cancelled before start", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := Verify(cctx, pub, bytes.NewReader(msg), sig); !errors.Is(err, context.Canceled) {
			t.Errorf("Verify = %v, want context.Canceled", err)
		}
	})
	t.Run("cancelled during read", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		src := bytes.NewReader(msg)
		reads := 0
		rd := funcReader(func(p []byte) (int, error) {
			if reads++; reads == 2 {
				cancel()
			}
			return src.Read(p)
		})
		if err := Verify(cctx, pub, rd, sig); !errors.Is(err, context.Canceled) || reads != 2 {
			t.Errorf("Verify = %v after %d reads, want context.Canceled after 2", err, reads)
		}
	})
	t.Run("no progress", func(t *testing.T) {
		rd := funcReader(func(p []byte) (int, error) { return 0, nil })
		if err := Verify(ctx, pub, rd, sig); !errors.Is(err, io.ErrNoProgress) {
			t.Errorf("Verify = %v, want io.ErrNoProgress", err)
		}
	})
	t.Run("nil reader", func(t *testing.T) {
		if err := Verify(ctx, pub, nil, sig); err == nil || errors.Is(err, ErrInvalidSignature) {
			t.Errorf("Verify(nil reader) = %v, want a non-signature error", err)
		}
	})
}

func TestVerifierIncremental(t *testing.T) {
	r := newRand(11)
	pub, priv := randKey(r)
	msg := randBytes(r, 5000)
	sig := ed25519.Sign(priv, msg)
	v, err := NewVerifier(pub, sig)
	if err != nil {
		t.Fatal(err)
	}
	v.Write(msg[:2500])
	if err := v.Verify(); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("Verify after half the message = %v, want ErrInvalidSignature", err)
	}
	v.Write(msg[2500:])
	for range 2 { // Verify does not change the state
		if err := v.Verify(); err != nil {
			t.Fatalf("Verify after the whole message = %v", err)
		}
	}
	if _, err := io.Copy(v, bytes.NewReader([]byte{0})); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("Verify after an extra byte = %v, want ErrInvalidSignature", err)
	}
}

// FuzzVerify checks that Verify agrees with crypto/ed25519 on arbitrary
// keys, messages and signatures.
func FuzzVerify(f *testing.F) {
	r := newRand(12)
	for range 4 {
		pub, priv := randKey(r)
		msg := randBytes(r, r.IntN(100))
		f.Add([]byte(pub), msg, ed25519.Sign(priv, msg))
	}
	f.Add(make([]byte, 32), []byte{}, make([]byte, 64))
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		if len(pub) != ed25519.PublicKeySize {
			return // crypto/ed25519 panics
		}
		checkAgreement(t, verifyCase{"fuzz", pub, msg, sig})
	})
}

// FuzzSign checks that Sign is byte-for-byte crypto/ed25519.Sign.
func FuzzSign(f *testing.F) {
	f.Add(make([]byte, 32), []byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 32), []byte("abc"))
	f.Fuzz(func(t *testing.T, seed, msg []byte) {
		if len(seed) != ed25519.SeedSize {
			return
		}
		priv := ed25519.NewKeyFromSeed(seed)
		want := ed25519.Sign(priv, msg)
		got, err := Sign(context.Background(), priv, bytes.NewReader(msg), int64(len(msg)))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Sign = %x, %v; want %x", got, err, want)
		}
	})
}

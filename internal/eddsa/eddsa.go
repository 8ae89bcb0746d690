package eddsa

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"filippo.io/edwards25519"
)

// bufSize is the size of the buffer that Sign and Verify read the message
// through. It bounds their memory use, whatever the message size.
const bufSize = 1 << 20

// parallelMin is the smallest chunk for which Sign's second pass runs its two
// hashes on two goroutines; below it the hand-off costs more than it saves.
const parallelMin = 64 << 10

// maxZeroReads is how many successive reads returning no data and no error
// are tolerated before giving up with io.ErrNoProgress (as bufio does).
const maxZeroReads = 100

var (
	// ErrInvalidSignature reports a signature that does not verify, or is
	// malformed (wrong length, non-canonical S). It is also wrapped, together
	// with ErrInvalidKey, when a 32-byte public key is not a valid point:
	// crypto/ed25519.Verify rejects such signatures too.
	ErrInvalidSignature = errors.New("eddsa: invalid signature")

	// ErrInvalidKey reports a private or public key of the wrong length, or
	// a public key that does not decode to a curve point.
	ErrInvalidKey = errors.New("eddsa: invalid key")

	// ErrMessageChanged is returned by Sign when the message read in its
	// second pass differs from the one read in its first pass. No signature
	// is returned then: releasing one could leak the private key (see the
	// package documentation).
	ErrMessageChanged = errors.New("eddsa: message changed between the two signing passes")
)

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, bufSize)
	return &b
}}

// Sign returns the pure Ed25519 signature (RFC 8032) of the size bytes of msg, reading msg twice
// sequentially with a bounded buffer (r = SHA-512(prefix||M), R = rB, k = SHA-512(R||A||M), S = r + k·s).
// Checks ctx between buffer reads. Returns an error if msg is shorter than size.
// Result is byte-for-byte identical to ed25519.Sign(priv, wholeMessage).
//
// Bytes of msg past size are not read. A message shorter than size gives an
// error wrapping io.ErrUnexpectedEOF; a wrong private key length gives
// ErrInvalidKey; a message whose content differs between the two passes
// gives ErrMessageChanged; a cancelled ctx gives ctx.Err(). Like
// ed25519.Sign, Sign uses priv[32:] as the public key without checking that
// it matches the seed.
func Sign(ctx context.Context, priv ed25519.PrivateKey, msg io.ReaderAt, size int64) ([]byte, error) {
	if l := len(priv); l != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key is %d bytes, want %d", ErrInvalidKey, l, ed25519.PrivateKeySize)
	}
	if msg == nil {
		return nil, errors.New("eddsa: nil message")
	}
	if size < 0 {
		return nil, fmt.Errorf("eddsa: negative message size %d", size)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Key expansion, as in RFC 8032 section 5.1.6 step 1 and crypto/ed25519.
	h := sha512.Sum512(priv[:ed25519.SeedSize])
	defer clear(h[:])
	s, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		panic("eddsa: internal error: setting scalar failed")
	}
	prefix := h[32:]
	pub := priv[ed25519.SeedSize:]

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp

	// Pass one: r = SHA-512(prefix || M).
	mh := sha512.New()
	mh.Write(prefix)
	if err := hashAt(ctx, msg, size, buf, mh, nil); err != nil {
		return nil, err
	}
	var rDigest [sha512.Size]byte
	mh.Sum(rDigest[:0])
	defer clear(rDigest[:])
	r, err := edwards25519.NewScalar().SetUniformBytes(rDigest[:])
	if err != nil {
		panic("eddsa: internal error: setting scalar failed")
	}
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()

	// Pass two: k = SHA-512(R || A || M), and again SHA-512(prefix || M) to
	// prove that pass two saw the same message as pass one.
	kh := sha512.New()
	kh.Write(R)
	kh.Write(pub)
	mh.Reset()
	mh.Write(prefix)
	if err := hashAt(ctx, msg, size, buf, kh, mh); err != nil {
		return nil, err
	}
	var check [sha512.Size]byte
	mh.Sum(check[:0])
	defer clear(check[:])
	if subtle.ConstantTimeCompare(check[:], rDigest[:]) != 1 {
		return nil, ErrMessageChanged
	}
	var kDigest [sha512.Size]byte
	kh.Sum(kDigest[:0])
	k, err := edwards25519.NewScalar().SetUniformBytes(kDigest[:])
	if err != nil {
		panic("eddsa: internal error: setting scalar failed")
	}
	S := edwards25519.NewScalar().MultiplyAdd(k, s, r)

	sig := make([]byte, ed25519.SignatureSize)
	copy(sig[:32], R)
	copy(sig[32:], S.Bytes())
	return sig, nil
}

// hashAt writes bytes [0, size) of r to h1 and, if h2 is not nil, to h2,
// reading through buf and checking ctx before every read. For large chunks
// h2 is fed on a second goroutine while h1 is fed on this one.
func hashAt(ctx context.Context, r io.ReaderAt, size int64, buf []byte, h1, h2 hash.Hash) error {
	var bg *bgHasher // started by the first large chunk
	defer func() {
		if bg != nil {
			bg.stop()
		}
	}()
	for off := int64(0); off < size; {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk := buf[:min(int64(len(buf)), size-off)]
		if err := readFullAt(r, chunk, off, size); err != nil {
			return err
		}
		switch {
		case h2 != nil && len(chunk) >= parallelMin:
			if bg == nil {
				bg = startBgHasher(h2)
			}
			bg.in <- chunk
			h1.Write(chunk)
			<-bg.done
		case h2 != nil:
			h1.Write(chunk)
			h2.Write(chunk)
		default:
			h1.Write(chunk)
		}
		off += int64(len(chunk))
	}
	return nil
}

// bgHasher feeds a hash on its own goroutine. One goroutine and two channels
// per Sign call, so allocations do not grow with the number of chunks.
type bgHasher struct {
	h    hash.Hash
	in   chan []byte
	done chan struct{}
}

func startBgHasher(h hash.Hash) *bgHasher {
	b := &bgHasher{h: h, in: make(chan []byte), done: make(chan struct{})}
	go func() {
		for p := range b.in {
			b.h.Write(p)
			b.done <- struct{}{}
		}
	}()
	return b
}

// stop ends the goroutine. Every chunk sent has been acknowledged on done
// by the time hashAt returns, so the goroutine is idle.
func (b *bgHasher) stop() { close(b.in) }

// readFullAt fills p from r at off. It tolerates io.ReaderAt implementations
// that return short reads without an error, or io.EOF together with the last
// bytes. Hitting the end of r before p is full is reported as
// io.ErrUnexpectedEOF.
func readFullAt(r io.ReaderAt, p []byte, off, size int64) error {
	zeroReads := 0
	// p is never empty (hashAt reads while bytes remain), so the loop ends
	// only through one of its returns.
	for filled := 0; ; {
		n, err := r.ReadAt(p[filled:], off+int64(filled))
		if n < 0 || n > len(p)-filled {
			return fmt.Errorf("eddsa: reading message at offset %d: invalid read count %d", off+int64(filled), n)
		}
		filled += n
		if filled == len(p) {
			return nil // err may be io.EOF with the final bytes; that is fine.
		}
		switch {
		case err == io.EOF:
			return fmt.Errorf("eddsa: message is %d bytes, shorter than size %d: %w", off+int64(filled), size, io.ErrUnexpectedEOF)
		case err != nil:
			return fmt.Errorf("eddsa: reading message at offset %d: %w", off+int64(filled), err)
		case n == 0:
			if zeroReads++; zeroReads >= maxZeroReads {
				return fmt.Errorf("eddsa: reading message at offset %d: %w", off+int64(filled), io.ErrNoProgress)
			}
		default:
			zeroReads = 0
		}
	}
}

// Verify checks a pure Ed25519 signature over everything read from msg, in one pass.
// Returns nil if valid, ErrInvalidSignature (wrapped or bare, use errors.Is) if not, another error for I/O/ctx.
// Must accept and reject exactly what crypto/ed25519.Verify accepts and rejects (canonical S < l,
// A must decode, cofactorless check comparing the encoding of R, same as Go's implementation).
//
// A signature or key that NewVerifier rejects is reported without reading
// msg. A public key of the wrong length gives ErrInvalidKey (where
// ed25519.Verify would panic). ctx is checked before every read.
func Verify(ctx context.Context, pub ed25519.PublicKey, msg io.Reader, sig []byte) error {
	v, err := NewVerifier(pub, sig)
	if err != nil {
		return err
	}
	if msg == nil {
		return errors.New("eddsa: nil message")
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp

	zeroReads := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := msg.Read(buf)
		if n < 0 || n > len(buf) {
			return fmt.Errorf("eddsa: reading message: invalid read count %d", n)
		}
		v.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("eddsa: reading message: %w", err)
		}
		if n > 0 {
			zeroReads = 0
		} else if zeroReads++; zeroReads >= maxZeroReads {
			return fmt.Errorf("eddsa: reading message: %w", io.ErrNoProgress)
		}
	}
	return v.Verify()
}

// Verifier is an io.Writer that verifies a pure Ed25519 signature
// incrementally: create it with NewVerifier, Write the message (in pieces of
// any size), then call Verify. Its memory use does not depend on the message
// size. A Verifier is not safe for concurrent use.
type Verifier struct {
	h      hash.Hash // SHA-512(R || A || M so far)
	minusA edwards25519.Point
	s      edwards25519.Scalar
	r      [32]byte
}

// NewVerifier returns a Verifier of sig under pub. It fails with
// ErrInvalidKey if pub is not ed25519.PublicKeySize bytes, and with
// ErrInvalidSignature if sig is not ed25519.SignatureSize bytes or its S is
// not canonical (S >= l), since no message can make such a signature valid.
// A 32-byte pub that is not a curve point gives an error wrapping both
// ErrInvalidSignature and ErrInvalidKey.
func NewVerifier(pub ed25519.PublicKey, sig []byte) (*Verifier, error) {
	if l := len(pub); l != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: public key is %d bytes, want %d", ErrInvalidKey, l, ed25519.PublicKeySize)
	}
	if l := len(sig); l != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: signature is %d bytes, want %d", ErrInvalidSignature, l, ed25519.SignatureSize)
	}
	// Same checks, and in the same terms, as crypto/ed25519.
	if sig[63]&224 != 0 {
		return nil, fmt.Errorf("%w: S is not canonical", ErrInvalidSignature)
	}
	v := &Verifier{}
	if _, err := v.s.SetCanonicalBytes(sig[32:]); err != nil {
		return nil, fmt.Errorf("%w: S is not canonical", ErrInvalidSignature)
	}
	var a edwards25519.Point
	if _, err := a.SetBytes(pub); err != nil {
		return nil, fmt.Errorf("%w: %w: public key is not a valid point", ErrInvalidSignature, ErrInvalidKey)
	}
	v.minusA.Negate(&a)
	copy(v.r[:], sig[:32])
	v.h = sha512.New()
	v.h.Write(sig[:32])
	v.h.Write(pub) // the key's own bytes, even if non-canonical, as crypto/ed25519 does
	return v, nil
}

// Write adds p to the message being verified. It never returns an error.
func (v *Verifier) Write(p []byte) (int, error) {
	return v.h.Write(p)
}

// Verify reports whether the signature is valid for the message written so
// far: nil if it is, ErrInvalidSignature if not. It does not change the
// Verifier's state, so more can be written and Verify called again.
func (v *Verifier) Verify() error {
	var d [sha512.Size]byte
	v.h.Sum(d[:0])
	k, err := edwards25519.NewScalar().SetUniformBytes(d[:])
	if err != nil {
		panic("eddsa: internal error: setting scalar failed")
	}
	// [S]B = R + [k]A  <=>  [k](-A) + [S]B = R, compared by encoding.
	R := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(k, &v.minusA, &v.s)
	if !bytes.Equal(v.r[:], R.Bytes()) {
		return ErrInvalidSignature
	}
	return nil
}

// Package eddsa implements streaming pure Ed25519 (RFC 8032 PureEdDSA)
// signing and verification for messages too large to hold in memory, such
// as app archives of hundreds of MiB.
//
// # Why a separate package
//
// crypto/ed25519 only accepts the message as a []byte. Its only streaming
// alternative, Ed25519ph (ed25519.Options{Hash: crypto.SHA512}), is a
// different signature scheme: it signs SHA-512(M) under a domain separator,
// so its signatures do not verify as plain Ed25519 signatures and vice
// versa. Signatures produced here are pure Ed25519 signatures, byte-for-byte
// identical to ed25519.Sign(priv, M), and Verify accepts exactly the
// signatures that ed25519.Verify accepts. Memory use is bounded by one
// pooled buffer of bufSize (1 MiB), whatever the message size.
//
// # Signing reads the message twice
//
// Pure Ed25519 hashes the message twice, and the second hash depends on the
// result of the first:
//
//	r = SHA-512(prefix || M)       mod l   (prefix: second half of SHA-512(seed))
//	R = r·B
//	k = SHA-512(R || A || M)       mod l
//	S = r + k·s                    mod l
//	signature = R || S
//
// R is not known until all of M has been hashed, and k needs R before any of
// M, so without buffering M the signer must read it twice: pass one computes
// r (and R), pass two computes k. Sign therefore takes an io.ReaderAt and a
// size and reads [0, size) sequentially twice, checking the context between
// buffer reads.
//
// # The message must not change between the passes
//
// If the bytes seen by pass two differ from those of pass one, the result is
// not merely an invalid signature: two signatures that share r (same pass-one
// bytes) but have different k (different pass-two bytes) reveal the secret
// scalar, s = (S1 - S2) / (k1 - k2) mod l. Anyone able to rewrite the archive
// while it is being signed could extract the private key. To rule this out,
// pass two also recomputes SHA-512(prefix || M) and Sign returns
// ErrMessageChanged, and no signature, unless it equals the pass-one digest.
// (prefix is secret, so this is a keyed check an attacker cannot aim at.) In
// pass two the two SHA-512 computations run on two goroutines, so on a
// machine with two or more cores the check costs CPU time but little
// wall-clock time.
//
// # Verification is one pass
//
// Verification only needs k = SHA-512(R || A || M), and R and A are known up
// front, so Verify and Verifier read the message once, from an io.Reader or
// through io.Writer calls. The final check is the same as crypto/ed25519's:
// S must be canonical (S < l), A must decode as a curve point (non-canonical
// encodings accepted, as in crypto/ed25519), and the cofactorless equation
// is checked by comparing the encoding of [S]B - [k]A with the R bytes of the
// signature.
package eddsa

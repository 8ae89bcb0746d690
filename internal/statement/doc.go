// Package statement owns the digest profile ("digest-v1") of the signer
// service: a small, canonical, domain-separated text that states which
// archive (size, SHA-256, SHA-512) was signed for which app version, when
// and by which key, and a pure Ed25519 signature over that text.
//
// The statement is at most 4096 bytes, so keys that cannot pure-sign a
// large archive (AWS KMS ED25519_SHA_512 with MessageType RAW) can sign it,
// and callers that cannot upload the archive can ask for one. The
// ecosystem's installed verifier does NOT accept this profile: the UPM
// profile (pure Ed25519 over every byte of the archive, package chain)
// stays the default. Digest statements are for our own verifier, for audit,
// and for KMS-native keys.
//
// Statement.Marshal and Parse define exactly one encoding per statement;
// File is the JSON signature file of the profile; Sign and Verify produce
// and check signatures; DetectProfile tells a digest-v1 signature file from
// a UPM one. The format is specified in docs/digest-profile.md, with test
// vectors in testdata/vectors.json.
//
// Verification errors wrap the sentinels of package chain (ErrMalformed,
// ErrBadSignature, ErrUntrusted, ErrExpired) or ErrDigestMismatch from this
// package, and are checked with errors.Is.
package statement

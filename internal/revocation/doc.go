// Package revocation owns offline revocation for the signer service: a
// signed, versioned revocation list in our own format, the check an
// installing instance makes against it, and standard X.509 CRLs per CA.
//
// # Revocation list
//
// A List names revoked archives (by SHA-256), revoked certificates (issuer
// and serial) and revoked keys (SHA-256 fingerprint of the
// SubjectPublicKeyInfo). It has a monotonic Version, an IssuedAt and a
// NextUpdate after which it is stale. Marshal defines exactly one encoding
// (compact JSON, entries sorted); Sign wraps it in a JSON envelope with a
// detached pure Ed25519 signature over those exact bytes, made by a
// kms.Signer, and optionally the signer's certificate. Verify checks the
// envelope against a pinned key; VerifyTrusted checks it against the
// certificate it carries, which must be a trusted root itself or a
// revocation-signing certificate (see NewSignerCertificate) that chains to
// one.
//
// # Effective time
//
// An archive in the list is revoked whenever it was signed. A certificate
// or key revoked from EffectiveFrom T revokes signatures made at or after T
// only: Check needs the signing time and where it came from. A time from
// the ledger or a transparency log is trusted; a time asserted by a
// statement signed with the same key is trusted only when the entry's
// reason is not a compromise (whoever holds a compromised key can backdate
// its statements); an unknown time is treated as revoked. Check says why.
//
// # Exact entries
//
// An air-gapped verifier has no trusted signing time, so the entries above
// would revoke everything a key ever signed. A key or certificate entry
// may therefore be exact: it carries, as SignatureDigest values, every
// signature the service's ledger recorded under it before EffectiveFrom.
// Offline, Check keeps exactly those and revokes every other signature by
// the key: those made later and those never logged (a thief's, made with a
// stolen key outside the service). The set comes from the ledger when the
// list is published (internal/server), never from the caller.
//
// # CRLs
//
// BuildCRL issues an RFC 5280 CRL for one CA with the CA's key behind any
// kms backend, for verifiers that only speak X.509 (openssl verify
// -crl_check). CRLEntriesFor derives a CA's CRL entries from a List.
//
// Errors callers act on are the sentinels in errors.go, checked with
// errors.Is; a revoked signature is reported as a *RevokedError.
package revocation

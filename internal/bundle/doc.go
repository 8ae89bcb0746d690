// Package bundle owns signed trust bundles: versioned directories of CA
// certificates (and optionally a revocation list and CRLs) that the
// marketplace publishes and customers install by hand into the verifier's
// trust-store folder, also on air-gapped machines.
//
// Export writes a bundle directory: one PEM file per CA named
// <role>-<16 hex of SHA-256(DER)>.pem (as chain.BundleFor names them),
// manifest.json describing every file, manifest.sig (a detached pure
// Ed25519 signature over the exact manifest bytes), manifest-signer.pem
// (the signing certificate) and coreutils-style SHA256SUMS and SHA512SUMS,
// so `sha256sum -c SHA256SUMS` works on any machine.
//
// Verify checks a bundle offline: the signature, the signer's authority
// (a trusted root, or a bundle-signing certificate chaining to one; on
// first install a root named by a fingerprint compared out of band),
// every file's SHA-256 and SHA-512 against the manifest and both sums
// files, that no file is missing or extra, that the certificates are CAs
// and in date, and it warns about anything expiring within 30 days.
//
// Diff and Install compare a bundle with a trust-store folder. Install
// refuses downgrades (the installed version is kept in .bundle-version),
// writes each file atomically with mode 0444, sets the folder to 0555,
// removes expired certificates and the ones an earlier bundle installed
// but this one withdraws, and never touches other files.
//
// Errors callers act on are the sentinels in errors.go, checked with
// errors.Is; messages name the offending file.
package bundle

// Package chain owns the certificates of the signer service and the offline
// check an installing instance performs on a signed app.
//
// It issues the Ed25519 certificate profile (root CA, marketplace
// intermediate CA, code-signing leaf) with a CA key behind crypto.Signer,
// bootstraps a file-based development PKI, encodes and strictly parses the
// ecosystem's JSON signature file, writes and loads trust-store folders, and
// verifies a signature file over an archive: PKIX path validation to a root
// in the trust store, validity window, code-signing usage and a pure Ed25519
// signature over every byte of the archive (streamed, never held in memory).
// The origin of a verified signature (marketplace, private build, custom)
// is decided by the trust-store CA its chain went through (OriginOfChain),
// never by the file; a private build's app-key scope is enforced against
// the app being installed (CheckOriginScope).
//
// Errors that a caller acts on are the sentinels in errors.go, checked with
// errors.Is; their text never contains key material.
package chain

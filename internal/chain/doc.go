// Package chain owns the certificates of the signer service and the offline
// check an installing instance performs on a signed app.
//
// It issues every certificate of the service, one function per profile
// (root CA, marketplace and private-build intermediate CAs, code-signing and
// private-build leaves, trust-metadata signers, self-signed custom-app
// certificates) with one serial generator and a CA key behind
// crypto.Signer; owns the PEM encoding and strict parsing of certificates,
// certificate chains and private keys; bootstraps a file-based development
// PKI, encodes and strictly parses the
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

// Package softkms is the software key backend: Ed25519 keys in PEM files on
// local disk, named "softkms:path=/abs/file.key". Key files that are
// readable by group or others are refused. Software keys stream, so they
// can pure-sign archives of any size.
//
// A key file is either a plain PKCS#8 "PRIVATE KEY" block or, when the
// backend has a passphrase (Options.PassphraseFile or PassphraseEnv), a
// "SIGNER ENCRYPTED PRIVATE KEY" block: the PKCS#8 DER sealed with
// XChaCha20-Poly1305 under a key derived from the passphrase by Argon2id.
// The envelope is versioned and records its KDF parameters and salt; that
// header is authenticated as additional data, so a file whose parameters
// were changed fails to open like one with a wrong passphrase. See
// encrypted.go for the format.
package softkms

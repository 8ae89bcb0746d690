// Package integration holds end-to-end tests: the real signer and signerctl
// binaries, built from this tree, against real PostgreSQL, checked with our
// verifier and with OpenSSL. They need PostgreSQL server binaries and
// openssl; without them they skip, except under CI=true where they fail.
package integration

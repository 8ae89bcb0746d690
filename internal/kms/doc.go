// Package kms is the key-backend contract of the signer: keys named by URI,
// a small Backend/Signer interface with optional capabilities discovered by
// type assertion, the sentinel errors every backend returns, and a Registry
// that internal/service builds as a value (there are no init-time globals).
//
// Backends live in sub-packages (softkms, sealedkms, awskms, pkcs11kms) and
// all pass the conformance suite in kmstest.
//
// Every signature a backend produces is checked in software against the
// key's public key before anybody uses it (see Verified): an HSM or a KMS
// can fail or be misconfigured silently — SoftHSM2, for one, ignores the
// Ed25519ph flag and returns a pure signature.
package kms

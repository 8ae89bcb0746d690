// Package pkcs11kms is the PKCS#11 key backend: Ed25519 keys that never leave
// a hardware security module (or SoftHSM2), named
// "pkcs11:token=<label>;object=<label>" with an optional "id=<hex>".
//
// The module path and the user PIN come from Options (a PIN file readable by
// its owner only, or an environment variable), never from the key URI.
//
// # What the package owns
//
//   - Loading the PKCS#11 module once per process and sharing it between
//     backends (C_Initialize and C_Finalize are process-wide by the PKCS#11
//     specification, so a second Backend on the same module must not finalize
//     it under the first one).
//   - A pool of logged-in sessions per backend, sized by Options.PoolSize.
//   - Recovery: a session the module reports lost (closed, invalid, logged
//     out) is discarded and the operation is retried once on a fresh, logged-in
//     session; a device-level failure (device error or removed, token not
//     present, module not initialized) re-initializes the module first. If the
//     retry fails the same way the call fails with kms.ErrUnavailable.
//   - Key creation (C_GenerateKeyPair with CKM_EC_EDWARDS_KEY_PAIR_GEN, the
//     private key sensitive and not extractable), destruction and health checks.
//
// # Signing limits
//
// Ed25519 in PKCS#11 (CKM_EDDSA) is single-part: the whole message goes to
// the token in one C_Sign, so a signer has no streaming and holds the message
// in memory. SoftHSM2 2.6.1 pure-signs 200 MiB in one call (≈1.8 s); hardware
// tokens often accept far less, so Options.MaxMessage caps what SignMessage
// accepts. The backend offers no Ed25519ph: SoftHSM2 ignores the prehash flag
// and returns a pure signature.
//
// Every signature should still be verified in software before use; the
// kms.Registry does that for every backend.
package pkcs11kms

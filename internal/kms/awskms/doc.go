// Package awskms is the key backend for native AWS KMS Ed25519 keys (key
// spec ECC_NIST_EDWARDS25519, key usage SIGN_VERIFY), named
// "awskms:key-id=<key id, key ARN, alias/name or alias ARN>" with an
// optional ";region=<region>".
//
// The private key never leaves KMS, and KMS signs at most 4096 bytes of raw
// message: SignMessage sends Sign(ED25519_SHA_512, MessageType RAW) and
// refuses larger messages with kms.ErrMessageTooLarge before calling KMS;
// SignPrehashed sends a SHA-512 digest as Sign(ED25519_PH_SHA_512,
// MessageType DIGEST), which yields an Ed25519ph (RFC 8032 HashEdDSA)
// signature. KMS keys therefore suit certificates, checkpoints, revocation
// lists and digest statements, not whole archives (Limits says so).
//
// Loading a key fetches its public key once (GetPublicKey) and pins the
// signer to the key's ARN, which is the signer's canonical URI: an alias
// moved to another key later does not change what a loaded signer signs
// with. Calls are retried by awscall (throttling and 5xx, exponential
// backoff with full jitter, bounded by the caller's deadline) and AWS
// errors map to the kms sentinels: NotFound → ErrKeyNotFound, access denied
// → ErrPermission, a disabled key or one pending deletion → ErrKeyDisabled,
// exhausted retries → ErrUnavailable.
package awskms

// Package sealedkms is the key backend for software Ed25519 keys sealed by
// an AWS KMS symmetric key (the customer-managed-key model): the private key
// exists in clear only in this process's memory, and only while the KMS key
// (the KEK) lets this service decrypt it.
//
// Keys are named "sealedkms:path=/abs/name.sealed;kek=<KMS key id, ARN or
// alias>"; kek is optional on load (the file records the KEK's ARN) and, when
// given, KMS checks that the file was sealed under that key. The file (mode
// 0600) is a small versioned JSON envelope holding the KMS ciphertext of the
// PKCS#8 key, the public key, the KEK's ARN and the encryption context
// {appsign-key, appsign-purpose, appsign-environment}, which KMS binds to the
// ciphertext as additional authenticated data: a file moved to another
// environment, renamed in its context or altered does not decrypt, and key
// policies can grant kms:Decrypt per environment. Every unseal is a
// kms:Decrypt in the customer's CloudTrail.
//
// Loaded keys stream (eddsa.Sign), so they pure-sign archives of any size.
//
// Revocation without restart: before a signature, if RecheckInterval has
// passed since the last check, the signer decrypts its sealed key again
// (the same call and permission loading needs). If the KEK is disabled,
// pending deletion, or access is denied, signing stops with
// kms.ErrKeyDisabled or kms.ErrPermission and CheckHealth (which always
// re-checks) fails, until the KEK is usable again; then both resume in the
// same process. Throttling and KMS outages do not stop signing until the
// last successful check is older than StaleAfter.
//
// Close wipes the private key. Copies of a sealed file stay decryptable for
// as long as the KEK is: revoke or schedule deletion of the KEK to retire
// them all.
package sealedkms

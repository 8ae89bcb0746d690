// Package kmsemu is a local AWS KMS endpoint for tests and development. It
// speaks the real KMS wire protocol (AWS JSON 1.1: POST /, X-Amz-Target
// "TrentService.<Op>", base64 blobs, errors as {"__type", "message"} with an
// X-Amzn-ErrorType header), so the real aws-sdk-go-v2 KMS client talks to it
// unchanged through BaseEndpoint.
//
// It owns the key store behind that endpoint and does real cryptography:
// Ed25519 keys (key spec ECC_NIST_EDWARDS25519) sign pure Ed25519 with
// ED25519_SHA_512 over RAW messages of at most 4096 bytes and Ed25519ph
// with ED25519_PH_SHA_512 over 64-byte SHA-512 DIGEST messages; symmetric
// keys (SYMMETRIC_DEFAULT) encrypt with AES-256-GCM, binding the encryption
// context as additional authenticated data, into a ciphertext blob that
// names its key so Decrypt needs no KeyId.
//
// Requests must carry a SigV4 Authorization header for the configured access
// key id; when the secret access key is configured too the signature is
// checked in full.
//
// Tests inject faults through methods on Server, safely from any goroutine:
// throttling, internal errors, latency, disabled keys, denied keys, and
// they read a count of calls per operation. State lives in memory and may be
// persisted to a 0600 JSON file for development (it then holds key material
// in the clear: never point it at real keys).
//
// Package emutest starts a Server on 127.0.0.1 for a test and returns a real
// SDK client for it; cmd/kmsemu serves one on a loopback port.
package kmsemu

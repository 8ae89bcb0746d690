// Package awscall runs AWS KMS API calls for the KMS-backed key backends
// (awskms, sealedkms): it retries throttling and server faults with
// exponential backoff and full jitter, never past the caller's context
// deadline, and maps AWS errors to the sentinel errors of package kms.
//
// The SDK's own retryer is switched off for these calls (see NoSDKRetry) so
// that exactly one retry loop runs and it knows the deadline.
package awscall

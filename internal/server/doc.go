// Package server implements the signer's gRPC services: SignerService
// (archive signing, trust bundle) and LedgerService (ledger reads), plus the
// interceptors around them. It is the only place that turns errors into
// gRPC status codes (see status.go): clients get a fixed, actionable message
// and the right code; logs get the full cause with the request ID.
package server

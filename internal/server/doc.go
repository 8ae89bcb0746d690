// Package server implements the signer's gRPC services: SignerService
// (archive signing, trust bundle) and LedgerService (ledger reads), plus the
// interceptors around them. It is the only place that turns errors into
// gRPC status codes: handlers return wrapped Go errors, and the request
// interceptor (interceptors.go) maps them with toStatus (status.go) through
// the one table of sentinels (errmap.go). Clients get a fixed, actionable
// message and the right code; logs get the full cause with the method and
// the request ID.
package server

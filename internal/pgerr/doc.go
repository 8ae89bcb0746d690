// Package pgerr classifies the errors of pgx, pgconn and the network under
// them, so that every PostgreSQL store (keystore, ledger, translog,
// revocationstore, approvalpg) draws the same line between "the database is
// unreachable or failing over: retry later" and "this request failed".
//
// The stores keep owning their sentinels: each wraps its own ErrUnavailable
// with Wrap, and the server maps those sentinels to gRPC codes.
package pgerr

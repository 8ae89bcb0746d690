// Package service assembles the signer from a validated configuration:
// Build opens the ledger's database, the key backends, the key store, the
// ledger log, TrustService's keys and the callers' checks (authentication,
// authorization, limits), registers the gRPC services of internal/server
// and listens; Run serves until its context ends and Shutdown drains
// behind NOT_SERVING. `signer serve` builds from its YAML file, `signer
// dev` from DevConfig (a dev PKI and software keys under a data
// directory). It is the only place the service is wired.
package service

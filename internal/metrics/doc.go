// Package metrics owns the signer's Prometheus metrics: what is counted,
// the names and labels it is exported under, and the HTTP handler that
// serves them on a port of their own.
//
// Labels carry method names, gRPC codes, backend schemes and key names
// only — never a caller identity, an app key, a URI attribute or anything
// else a client controls, so label cardinality stays bounded and no secret
// can leak into a scrape.
//
// A nil *Metrics is valid and records nothing, so code paths that take one
// need no checks.
package metrics

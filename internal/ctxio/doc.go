// Package ctxio copies long streams, such as app archives of hundreds of
// MiB, so that a cancelled or expired context stops the copy between
// chunks instead of after the whole stream has been read. The offline
// verifiers (internal/chain for signature files, internal/statement for
// digest statements) read archives through it. Sleep is the same promise
// for a wait: retry back-offs and injected latency end with their context.
package ctxio

// Command signerload drives load against a signer on loopback and reports
// throughput and latency percentiles, for `make bench` and capacity checks.
//
//	signerload --server 127.0.0.1:7420 --mode archive --size 1024 --concurrency 32 --duration 20s
//	signerload --server 127.0.0.1:7420 --mode batch --batch-size 500 --concurrency 4 --duration 20s
//	BAO_TOKEN=… signerload --target openbao-transit --bao-addr http://127.0.0.1:8200 --bao-key signerload --mode digest
//
// The openbao-transit target loads the peer of issue 13, OpenBao Transit's
// sign endpoint with an ed25519 key, with the same modes, callers and
// report, and verifies a sample of its signatures with the key's public key.
// Every request has a fresh idempotency key, so each one is a new ledger
// entry. Traffic goes to loopback addresses only: in plaintext, as `signer
// dev` serves it, or with mutual TLS (--tls-ca, --tls-cert, --tls-key), as
// `signer serve` requires.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "signerload:", err)
		os.Exit(1)
	}
}

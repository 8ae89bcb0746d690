// Command signerctl is the operator and auditor tool for the signer:
// sign archives, fetch trust bundles, verify signatures offline and read
// the ledger. Run `signerctl help` for the commands and exit statuses.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

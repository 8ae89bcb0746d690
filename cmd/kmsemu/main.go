// Command kmsemu serves a local AWS KMS endpoint (internal/kmsemu) on a
// loopback address for development and tests. It prints the endpoint URL on
// the first line of standard output, for use as the SDK's BaseEndpoint.
//
//	kmsemu --listen 127.0.0.1:0 [--state FILE] [--access-key-id AKID] [--region us-east-1]
//
// The secret access key, if requests are to be checked in full, comes from
// the KMSEMU_SECRET_ACCESS_KEY environment variable, never from a flag.
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
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "kmsemu:", err)
		stop()
		os.Exit(1)
	}
}

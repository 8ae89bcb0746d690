// Command pgserve runs one throwaway PostgreSQL cluster (internal/pgcluster,
// fsync off) for as long as its standard input stays open: it prints a URL
// that may CREATE DATABASE on its first line, and stops the cluster and
// removes its files when standard input closes or on SIGINT/SIGTERM.
//
// scripts/mutate.sh exports that URL as $SIGNER_TEST_DATABASE_URL, so every
// mutant's test run of a PostgreSQL-backed package gets its fresh databases
// from one running server (internal/pgtest) instead of starting its own.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/appsign/signer/internal/pgcluster"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pgserve:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Fast: true})
	if err != nil {
		return err
	}
	fmt.Println(c.URL("postgres"))
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-ctx.Done():
	case <-eof:
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	return c.Stop(stopCtx)
}

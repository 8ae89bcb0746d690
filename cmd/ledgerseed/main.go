// Command ledgerseed fills a ledger with synthetic signatures through the
// real write path (ledger.Store.Record: a signatures row and its log leaf
// per entry, group-committed), then optionally benchmarks it: append rate,
// query latency per filter, and verification rate with and without the
// per-entry Ed25519 checks. `make seed-ledger N=…` and `make bench` run it.
//
// Entries are digest-v1 signatures by a fixed seed key over a synthetic
// statement, so every signature really verifies. Never point it at a
// production database.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var o options
	flag.StringVar(&o.databaseURL, "database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL (default $DATABASE_URL; empty: a throwaway cluster)")
	flag.Int64Var(&o.n, "n", 100000, "entries to append")
	flag.IntVar(&o.workers, "workers", 256, "concurrent appenders")
	flag.BoolVar(&o.bench, "bench", false, "after seeding, measure query latency and verification rate")
	flag.IntVar(&o.queries, "queries", 300, "queries per filter when benchmarking")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the run (seeding and -bench) to this file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledgerseed:", err)
		os.Exit(1)
	}
}

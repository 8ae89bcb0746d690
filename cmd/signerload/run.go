package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/appsign/signer/internal/transport"
)

// options are the command line.
type options struct {
	server      string
	mode        string
	size        int64
	chunk       int
	concurrency int
	conns       int
	duration    time.Duration
	requests    int
	batchSize   int
	appKey      string
	format      string
	tlsCA       string // mutual TLS to `signer serve`: the server's CA,
	tlsCert     string // the client certificate
	tlsKey      string // and its key; all empty: plaintext (`signer dev`)
	transit     transitOptions
}

func parse(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("signerload", flag.ContinueOnError)
	fs.StringVar(&o.server, "server", "127.0.0.1:7420", "signer address (loopback only)")
	fs.StringVar(&o.mode, "mode", "archive", "what to send: archive (SignArchive), digest (SignDigest) or batch (BatchService.SignBatch of digest items)")
	fs.Int64Var(&o.size, "size", 1024, "archive size in bytes (archive mode)")
	fs.IntVar(&o.chunk, "chunk", 1<<20, "chunk size in bytes for SignArchive streams")
	fs.IntVar(&o.concurrency, "concurrency", 8, "concurrent callers")
	fs.IntVar(&o.conns, "conns", 4, "gRPC connections the callers share")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "how long to run (the run also stops after --requests)")
	fs.IntVar(&o.requests, "requests", 0, "stop after this many requests in all (0: no limit)")
	fs.IntVar(&o.batchSize, "batch-size", 500, "items per SignBatch call (batch mode)")
	fs.StringVar(&o.appKey, "app-key", "com.example.load", "app key of the signed versions")
	fs.StringVar(&o.format, "format", "text", "report format: text or json")
	fs.StringVar(&o.tlsCA, "tls-ca", "", "CA file of the server's certificate: mutual TLS, as `signer serve` requires (with --tls-cert and --tls-key)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "client certificate file for mutual TLS")
	fs.StringVar(&o.tlsKey, "tls-key", "", "client key file for mutual TLS")
	o.transit.flags(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.mode != "archive" && o.mode != "digest" && o.mode != "batch":
		return o, fmt.Errorf("--mode %q: use archive, digest or batch", o.mode)
	case o.concurrency < 1 || o.conns < 1 || o.size < 1 || o.chunk < 1 || o.batchSize < 1:
		return o, errors.New("--concurrency, --conns, --size, --chunk and --batch-size must be positive")
	case o.duration <= 0 && o.requests <= 0:
		return o, errors.New("give --duration or --requests: a run must be bounded")
	case o.format != "text" && o.format != "json":
		return o, fmt.Errorf("--format %q: use text or json", o.format)
	case (o.tlsCA != "" || o.tlsCert != "" || o.tlsKey != "") && (o.tlsCA == "" || o.tlsCert == "" || o.tlsKey == ""):
		return o, errors.New("--tls-ca, --tls-cert and --tls-key go together (mutual TLS)")
	}
	if ok, err := transport.IsLoopback(o.server); err != nil || !ok {
		return o, fmt.Errorf("--server %q: signerload only talks to loopback addresses", o.server)
	}
	return o, o.transit.check()
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parse(args)
	if err != nil {
		return err
	}
	if o.transit.target == targetTransit {
		return runTransit(ctx, o, stdout)
	}
	creds, err := transportCredentials(o)
	if err != nil {
		return err
	}
	conns := make([]*grpc.ClientConn, o.conns)
	for i := range conns {
		c, err := grpc.NewClient(o.server, grpc.WithTransportCredentials(creds),
			grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(8<<20), grpc.MaxCallRecvMsgSize(64<<20)))
		if err != nil {
			return err
		}
		defer c.Close()
		conns[i] = c
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	w := &workload{opts: o, runID: hex.EncodeToString(id[:])}
	if err := w.prepare(); err != nil {
		return err
	}

	st, elapsed := drive(ctx, o, func(stop context.Context, i int, b *budget, st *stats) {
		w.loop(stop, ctx, conns[i%len(conns)], i, b, st)
	})
	return report(stdout, o, st, elapsed)
}

// drive runs o.concurrency callers until the run ends and merges their
// results. The run's end (stop) keeps callers from starting calls; it does
// not cut the calls in flight (their deadline would reach the server and
// skew the error count). Ctrl-C (ctx) cancels everything.
func drive(ctx context.Context, o options, caller func(stop context.Context, i int, b *budget, st *stats)) (*stats, time.Duration) {
	stop, cancel := context.WithCancel(ctx)
	if o.duration > 0 {
		stop, cancel = context.WithTimeout(ctx, o.duration)
	}
	defer cancel()
	budget := newBudget(o.requests)
	results := make([]*stats, o.concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range o.concurrency {
		results[i] = &stats{}
		wg.Go(func() { caller(stop, i, budget, results[i]) })
	}
	wg.Wait()
	return merge(results), time.Since(start)
}

// budget hands out at most n request slots to the callers (n 0: unlimited).
type budget struct {
	mu   sync.Mutex
	left int
	all  bool
}

func newBudget(n int) *budget { return &budget{left: n, all: n <= 0} }

func (b *budget) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.all {
		return true
	}
	if b.left == 0 {
		return false
	}
	b.left--
	return true
}

// transportCredentials is plaintext for `signer dev`, or mutual TLS with
// the given files for `signer serve` (the server verified as the loopback
// address it listens on, as its quickstart certificate names it).
func transportCredentials(o options) (credentials.TransportCredentials, error) {
	if o.tlsCA == "" {
		return insecure.NewCredentials(), nil
	}
	host, _, err := net.SplitHostPort(o.server)
	if err != nil {
		return nil, fmt.Errorf("--server %q: %w", o.server, err)
	}
	cfg, err := transport.ClientTLS(o.tlsCA, o.tlsCert, o.tlsKey, host)
	if err != nil {
		return nil, err
	}
	return credentials.NewTLS(cfg), nil
}

package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/appsign/signer/internal/anchor"
	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgcluster"
	"github.com/appsign/signer/internal/server"
	"github.com/appsign/signer/internal/service"
	"github.com/appsign/signer/internal/transport"
)

// devFlags are the flags of `signer dev`.
type devFlags struct {
	dataDir        string
	listen         string
	databaseURL    string
	maxArchiveSize int64
	logLevel       string
	metricsListen  string
	pprof          bool
	dbMaxConns     int
	shutdownGrace  time.Duration
	keyPoll        time.Duration
	keyNotify      bool
	witnesses      []string
}

func newDevCommand() *cobra.Command {
	var o devFlags
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a self-contained development signer on loopback",
		Long: `Run a development signer: a throwaway PostgreSQL started from the installed
binaries (unless --database-url or DATABASE_URL is given), a dev CA and a
software signing key created once under --data-dir and reused, migrations
applied, and gRPC served in plaintext on a loopback address only.

Stop it with Ctrl-C (SIGINT) or SIGTERM; the throwaway database stops with it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.databaseURL == "" {
				o.databaseURL = os.Getenv("DATABASE_URL")
			}
			if err := o.check(); err != nil {
				return usageError{err}
			}
			return dev(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", ".signer-dev", "directory for the dev CA, keys and spool files")
	f.StringVar(&o.listen, "listen", "127.0.0.1:7420", "loopback address to serve gRPC on (plaintext)")
	f.StringVar(&o.databaseURL, "database-url", "", "PostgreSQL URL to use instead of a throwaway cluster (default $DATABASE_URL)")
	f.Int64Var(&o.maxArchiveSize, "max-archive-size", server.DefaultMaxArchiveSize, "largest archive accepted, in bytes")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&o.metricsListen, "metrics-listen", "", "loopback address to serve Prometheus /metrics on over HTTP (empty: no metrics endpoint)")
	f.IntVar(&o.dbMaxConns, "db-max-conns", 32, "database connections in the pool, unless the URL sets pool_max_conns (pgx's default of max(4, CPUs) caps throughput: each request holds a connection for a durable commit)")
	f.DurationVar(&o.keyPoll, "key-poll", keystore.DefaultWatchInterval, "how often to reload keys changed by other replicas")
	f.BoolVar(&o.keyNotify, "key-notify", true, "also reload keys as soon as another replica announces a change (PostgreSQL LISTEN; off behind a proxy that cannot LISTEN)")
	f.DurationVar(&o.shutdownGrace, "shutdown-grace", 20*time.Second, "on SIGTERM, how long calls in flight may finish before they are cancelled")
	f.StringArrayVar(&o.witnesses, "witness", nil, "a C2SP tlog-witness that cosigns every checkpoint: \"URL VKEY\" (its add-checkpoint URL prefix and cosignature verifier key; repeatable)")
	f.BoolVar(&o.pprof, "pprof", false, "also serve Go profiles under /debug/pprof/ on --metrics-listen")
	return cmd
}

// check refuses flags `signer dev` cannot serve with, before anything is
// created.
func (o devFlags) check() error {
	if err := transport.RequireLoopback(o.listen); err != nil {
		return err
	}
	if o.metricsListen != "" {
		if err := transport.RequireLoopback(o.metricsListen); err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
	}
	if _, err := parseWitnesses(o.witnesses); err != nil {
		return err
	}
	if o.maxArchiveSize <= 0 {
		return errors.New("--max-archive-size must be positive")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", o.logLevel)
	}
	return nil
}

// dev runs a development instance: a throwaway PostgreSQL unless a URL is
// given, migrations applied, the service built from service.DevConfig,
// served until ctx ends, then drained and the database stopped.
func dev(ctx context.Context, o devFlags, stdout, stderr io.Writer) error {
	dataDir, err := filepath.Abs(o.dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	witnesses, err := parseWitnesses(o.witnesses)
	if err != nil {
		return usageError{err}
	}
	cfg, err := service.DevConfig(rand.Reader, service.DevOptions{
		DataDir: dataDir, Listen: o.listen, MaxArchiveSize: o.maxArchiveSize, LogLevel: o.logLevel,
		MetricsListen: o.metricsListen, Profiling: o.pprof, DBMaxConns: o.dbMaxConns, ShutdownGrace: o.shutdownGrace,
		KeyPoll: o.keyPoll, KeyPollOnly: !o.keyNotify, Witnesses: witnesses,
	}, time.Now())
	if err != nil {
		return buildError(err)
	}
	cfg.Stdout, cfg.LogOutput = stdout, stderr

	cfg.DatabaseURL = o.databaseURL
	if cfg.DatabaseURL == "" {
		fmt.Fprintln(stdout, "starting a throwaway PostgreSQL from the installed binaries…")
		cluster, err := pgcluster.Start(ctx, pgcluster.Options{})
		if err != nil {
			return fmt.Errorf("start PostgreSQL (install it with `apt-get install postgresql`, or pass --database-url): %w", err)
		}
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := cluster.Stop(stopCtx); err != nil {
				slog.New(slog.NewJSONHandler(stderr, nil)).Error("stop PostgreSQL", "error", err.Error())
			}
		}()
		if cfg.DatabaseURL, err = cluster.CreateDatabase(ctx, "signer"); err != nil {
			return err
		}
	}
	if err := ledger.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	svc, err := service.Build(ctx, cfg)
	if err != nil {
		return buildError(err)
	}
	printNextSteps(stdout, svc.Addr().String(), dataDir)
	return svc.Run(ctx)
}

func printNextSteps(w io.Writer, addr, dataDir string) {
	fmt.Fprintf(w, "signer dev listening on %s (plaintext, loopback only)\n", addr)
	fmt.Fprintf(w, "data dir: %s\n", dataDir)
	fmt.Fprintf(w, "published checkpoints: %s\n\n", filepath.Join(dataDir, service.DevCheckpointDir))
	fmt.Fprintf(w, "Try, in another shell:\n")
	fmt.Fprintf(w, "  signerctl sign   --server %s --app-key com.example.hello --version 1.0.0 app.jar\n", addr)
	fmt.Fprintf(w, "  signerctl bundle get --server %s --out truststore\n", addr)
	fmt.Fprintf(w, "  signerctl verify --truststore truststore --signature app.jar.sig app.jar\n")
	fmt.Fprintf(w, "  signerctl ledger list --server %s\n", addr)
	fmt.Fprintf(w, "  grpcurl -plaintext %s list\n\n", addr)
}

// parseWitnesses parses --witness values, "URL VKEY".
func parseWitnesses(values []string) ([]config.Witness, error) {
	var out []config.Witness
	for _, v := range values {
		fields := strings.Fields(v)
		if len(fields) != 2 {
			return nil, fmt.Errorf("--witness %q: want \"URL VKEY\"", v)
		}
		u, err := url.Parse(fields[0])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--witness %q: the URL must be http(s)://host[:port][/prefix]", v)
		}
		if _, err := anchor.NewCosignatureVerifier(fields[1]); err != nil {
			return nil, fmt.Errorf("--witness %q: %w", v, err)
		}
		out = append(out, config.Witness{URL: fields[0], Key: fields[1]})
	}
	return out, nil
}

package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/appsign/signer/internal/anchor"
	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/auth/approvalpg"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/limits"
	"github.com/appsign/signer/internal/metrics"
	"github.com/appsign/signer/internal/pgcluster"
	"github.com/appsign/signer/internal/revocationstore"
	"github.com/appsign/signer/internal/server"
	"github.com/appsign/signer/internal/transport"
)

// devKeyName is the archive-signing key of `signer dev`.
const devKeyName = "dev-signing"

// devCheckpointDir is where `signer dev` publishes checkpoints, under its
// data dir (ledger.checkpoint_dir in production).
const devCheckpointDir = "published-checkpoints"

type devOptions struct {
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
	var o devOptions
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
			if err := transport.RequireLoopback(o.listen); err != nil {
				return usageError{err}
			}
			if o.metricsListen != "" {
				if err := transport.RequireLoopback(o.metricsListen); err != nil {
					return usageError{fmt.Errorf("--metrics-listen: %w", err)}
				}
			}
			if _, err := parseWitnesses(o.witnesses); err != nil {
				return usageError{err}
			}
			if o.maxArchiveSize <= 0 {
				return usageError{errors.New("--max-archive-size must be positive")}
			}
			return runDev(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
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

func runDev(ctx context.Context, o devOptions, stdout, stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return usageError{fmt.Errorf("--log-level %q: use debug, info, warn or error", o.logLevel)}
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	dataDir, err := filepath.Abs(o.dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	spoolDir := filepath.Join(dataDir, "spool")
	if err := os.MkdirAll(spoolDir, 0o700); err != nil {
		return fmt.Errorf("create spool dir: %w", err)
	}

	databaseURL := o.databaseURL
	if databaseURL == "" {
		fmt.Fprintln(stdout, "starting a throwaway PostgreSQL from the installed binaries…")
		cluster, err := pgcluster.Start(ctx, pgcluster.Options{})
		if err != nil {
			return fmt.Errorf("start PostgreSQL (install it with `apt-get install postgresql`, or pass --database-url): %w", err)
		}
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := cluster.Stop(stopCtx); err != nil {
				log.Error("stop PostgreSQL", "error", err.Error())
			}
		}()
		if databaseURL, err = cluster.CreateDatabase(ctx, "signer"); err != nil {
			return err
		}
	}
	if err := ledger.Migrate(ctx, databaseURL); err != nil {
		return err
	}
	store, err := ledger.Open(ctx, withPoolSize(databaseURL, o.dbMaxConns))
	if err != nil {
		return err
	}
	defer store.Close()

	pki, err := chain.EnsureDevPKI(rand.Reader, dataDir, time.Now())
	if err != nil {
		return err
	}
	registry, err := kms.NewRegistry(softkms.New(softkms.Options{Dir: filepath.Join(dataDir, "keys")}))
	if err != nil {
		return err
	}
	defer registry.Close()
	m := metrics.New()
	m.DBPool(store.Pool().Stat)
	registry.OnFault = m.OnFault(func(u kms.URI) { log.Error("verify-after-sign failed: signature discarded", "backend", u.Scheme) })
	// The dev signing key is registered in the key store like any other
	// key, so `signerctl key rotate dev-signing` works here as in production;
	// new versions are issued by the dev intermediate CA.
	caKey, err := softkms.ReadKeyFile(filepath.Join(dataDir, "keys", "marketplace-ca.key"))
	if err != nil {
		return err
	}
	keys := keystore.New(store.Pool(), registry, chain.Issuer{CA: pki.Intermediate, Key: caKey, Validity: chain.DevSigningValidity, Rand: rand.Reader},
		keystore.Options{Logf: func(format string, args ...any) { log.Warn(fmt.Sprintf(format, args...)) }, OnEvent: store.KeyEventHook()})
	defer keys.Close()
	devURI := kms.NewURI(softkms.Scheme, map[string]string{"path": pki.SigningKeyPath})
	if _, err := keys.Import(ctx, devKeyName, keystore.RoleArchiveSigning, devURI, pki.Signing, "signer dev"); errors.Is(err, keystore.ErrRevoked) {
		// The dev key was revoked (after a rotation): the rotated version signs.
		log.Warn("the dev signing key is revoked; signing with the key's active version", "key", devKeyName)
	} else if err != nil {
		return err
	}
	if o.keyNotify {
		go keys.Watch(ctx, o.keyPoll)
	} else {
		go keys.Poll(ctx, o.keyPoll)
	}
	// The ledger log signs checkpoints with a software key kept under the
	// data dir.
	ledgerKey, err := ensureDevLedgerKey(ctx, registry, dataDir)
	if err != nil {
		return err
	}
	witnesses, err := parseWitnesses(o.witnesses)
	if err != nil {
		return usageError{err}
	}
	// Checkpoints are published under the data dir: in production that
	// directory is on storage the database administrator cannot write.
	ledgerLog, err := startLedgerLog(ctx, store, devLedgerOrigin, ledgerKey, filepath.Join(dataDir, devCheckpointDir), witnesses, 10*time.Second, log, m)
	if err != nil {
		return err
	}
	// Revocation, CRLs and private builds: a private-build CA and the
	// bundle and revocation signers, issued by the dev root.
	devTrust, err := server.NewDevTrust(ctx, dataDir, pki, registry, revocationstore.New(store.Pool(), store.RevocationStoreOptions(server.KeyVersionRevoker(keys))), rand.Reader, time.Now())
	if err != nil {
		return err
	}
	if err := logCACertificates(ctx, store, "signer dev", server.Trust{Roots: []*x509.Certificate{pki.Root},
		Intermediates: []*x509.Certificate{pki.Intermediate, devTrust.PrivateBuild.Cert}}, devTrust.Admin, log); err != nil {
		return err
	}

	// Every RPC goes through authentication and authorization, in dev too:
	// loopback callers get the dev identity (all roles), and a method
	// missing from the policy table is refused.
	policy := auth.DevPolicy()
	devID, _ := policy.LoopbackIdentity()
	loopback, err := auth.NewLoopback(o.listen, devID)
	if err != nil {
		return err
	}
	authz := auth.NewAuthorizer(policy, loopback, log)
	lim, err := limits.New(devLimits(o.maxArchiveSize), auth.Caller)
	if err != nil {
		return err
	}
	opts := append(lim.ServerOptions(),
		grpc.ChainUnaryInterceptor(authz.UnaryServerInterceptor(), lim.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(authz.StreamServerInterceptor(), lim.StreamServerInterceptor()))

	approvals := approvalpg.New(store.Pool(), auth.ApprovalOptions{})
	approvals.OnRequest, approvals.OnApprove, approvals.OnConsume = store.ApprovalHooks()
	srv, err := server.New(ctx, server.Config{
		Ledger:     store,
		Keys:       server.StoreKeys{Store: keys, Name: devKeyName},
		KeyStore:   keys,
		Approvals:  approvals,
		Trust:      server.Trust{Roots: []*x509.Certificate{pki.Root}, Intermediates: []*x509.Certificate{pki.Intermediate, devTrust.PrivateBuild.Cert}},
		TrustAdmin: devTrust.Admin,
		// One loopback identity holds every role here: nobody could
		// approve, so the two-person rule is waived (and logged).
		SingleOperator: true,
		SpoolDir:       spoolDir,
		MaxArchiveSize: o.maxArchiveSize,
		Caller:         auth.Caller,
		HealthCheck:    withLedgerHealth(registry.CheckHealth, ledgerLog),
		Logger:         log,
		Metrics:        m,
		Log:            ledgerLog,
	}, opts...)
	if err != nil {
		return err
	}
	if err := auth.CheckAllMethodsCovered(srv.GRPC, policy); err != nil {
		return err
	}
	lis, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	healthCtx, stopHealth := context.WithCancel(ctx)
	defer stopHealth()
	srv.StartHealth(healthCtx, 5*time.Second)

	if o.metricsListen != "" {
		mlis, err := net.Listen("tcp", o.metricsListen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", o.metricsListen, err)
		}
		metricsCtx, stopMetrics := context.WithCancel(context.WithoutCancel(ctx))
		defer stopMetrics()
		go func() {
			if err := m.Serve(metricsCtx, mlis, metrics.ServeOptions{Profiling: o.pprof}); err != nil {
				log.Error("metrics endpoint stopped", "error", err.Error())
			}
		}()
		fmt.Fprintf(stdout, "metrics on http://%s/metrics\n", mlis.Addr())
	}

	addr := lis.Addr().String()
	printNextSteps(stdout, addr, dataDir)
	served := make(chan error, 1)
	go func() { served <- srv.GRPC.Serve(lis) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "shutting down…")
	// NOT_SERVING first, so health-checking load balancers stop sending new
	// calls, which are refused (Unavailable) while the calls in flight
	// finish (each one commits its ledger entry before it answers, so
	// nothing is left to flush).
	stopHealth()
	srv.Shutdown(o.shutdownGrace)
	fmt.Fprintln(stdout, "stopped")
	return nil
}

// withPoolSize sets pool_max_conns on a postgres:// URL that does not set
// it. Other URL forms (key=value DSNs) are returned unchanged.
func withPoolSize(databaseURL string, n int) string {
	u, err := url.Parse(databaseURL)
	if err != nil || n <= 0 || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Query().Has("pool_max_conns") {
		return databaseURL
	}
	q := u.Query()
	q.Set("pool_max_conns", strconv.Itoa(n))
	u.RawQuery = q.Encode()
	return u.String()
}

func printNextSteps(w io.Writer, addr, dataDir string) {
	fmt.Fprintf(w, "signer dev listening on %s (plaintext, loopback only)\n", addr)
	fmt.Fprintf(w, "data dir: %s\n", dataDir)
	fmt.Fprintf(w, "published checkpoints: %s\n\n", filepath.Join(dataDir, devCheckpointDir))
	fmt.Fprintf(w, "Try, in another shell:\n")
	fmt.Fprintf(w, "  signerctl sign   --server %s --app-key com.example.hello --version 1.0.0 app.jar\n", addr)
	fmt.Fprintf(w, "  signerctl bundle get --server %s --out truststore\n", addr)
	fmt.Fprintf(w, "  signerctl verify --truststore truststore --signature app.jar.sig app.jar\n")
	fmt.Fprintf(w, "  signerctl ledger list --server %s\n", addr)
	fmt.Fprintf(w, "  grpcurl -plaintext %s list\n\n", addr)
}

// devLimits are generous: a developer's load tests should measure the
// service, not trip the per-identity limits meant for production callers.
func devLimits(maxArchive int64) limits.Config {
	c := limits.DefaultConfig()
	c.Rate, c.Burst = 100000, 100000
	c.MaxConcurrentPerIdentity, c.MaxInFlight = 512, 1024
	c.MaxArchiveSize = maxArchive
	return c
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

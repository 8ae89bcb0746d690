package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/service"
)

func newServeCommand() *cobra.Command {
	var (
		configPath string
		flags      config.Overrides
	)
	cmd := &cobra.Command{
		Use:   "serve --config FILE",
		Short: "Run the signer for production: mutual TLS, per-role authorization, configured key backends",
		Long: `Run the signer from a YAML configuration (see docs/examples/signer.yaml).

Every non-loopback listener uses TLS 1.2+ with client certificates; every RPC
is authorized by role from the policy file; keys live in the configured
backends. The database URL is read from the environment variable or file the
configuration names, never from a flag. Run ` + "`signer db roles`" + ` (or
` + "`signer migrate`" + `) first.

Precedence: flag > environment (SIGNER_LISTEN, SIGNER_METRICS_LISTEN,
SIGNER_DB_MAX_CONNS, SIGNER_LOG_LEVEL) > file > default.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configPath == "" {
				return usageError{errors.New("--config FILE is required")}
			}
			cfg, err := config.LoadWithOverrides(configPath, os.Getenv, flags)
			if err != nil {
				return usageError{err}
			}
			svc, err := service.Build(cmd.Context(), service.Config{File: *cfg, Stdout: cmd.OutOrStdout(), LogOutput: cmd.ErrOrStderr()})
			if err != nil {
				return buildError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "signer serving on %s (%s)\n", svc.Addr(), svc.Mode())
			return svc.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "configuration file (YAML)")
	f.StringVar(&flags.Listen, "listen", "", "gRPC address, overrides listen ($"+config.EnvListen+")")
	f.StringVar(&flags.MetricsListen, "metrics-listen", "", "operations (metrics, probes) address, overrides metrics.listen ($"+config.EnvMetricsListen+")")
	f.IntVar(&flags.DBMaxConns, "db-max-conns", 0, fmt.Sprintf("database pool size unless the URL sets pool_max_conns, overrides database.max_conns ($%s, default %d)", config.EnvDBMaxConns, config.DefaultMaxConns))
	f.StringVar(&flags.LogLevel, "log-level", "", "debug, info, warn or error, overrides log.level ($"+config.EnvLogLevel+")")
	return cmd
}

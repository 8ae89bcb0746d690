package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/appsign/signer/internal/backends"
	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/kms"
)

// Offline commands (ca, bundle export --key-uri) reach keys in any backend
// the way signer serve does: through the backends section of its YAML.

// configFlag registers --config, the YAML whose backends section holds the
// keys a command uses; usage completes the help text.
func configFlag(cmd *cobra.Command, p *string, usage string) {
	cmd.Flags().StringVar(p, "config", "", strings.TrimSpace("configuration file with a backends section "+usage))
}

// openBackends opens the backends section of the configuration file.
func openBackends(cmd *cobra.Command, path string) (*kms.Registry, error) {
	b, err := config.LoadBackends(path)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	reg, err := backends.Open(cmd.Context(), b, log, backends.Hooks{})
	if err != nil {
		return nil, withCode(exitError, err)
	}
	return reg, nil
}

// loadBackendKey loads the key a flag names; the registry checks every
// signature it makes in software.
func loadBackendKey(cmd *cobra.Command, reg *kms.Registry, flag, uriText string) (kms.Signer, error) {
	uri, err := kms.ParseURI(uriText)
	if err != nil {
		return nil, usagef("%s: %v", flag, err)
	}
	s, err := reg.LoadSigner(cmd.Context(), uri)
	switch {
	case errors.Is(err, kms.ErrUnknownBackend):
		return nil, usagef("%s %s: the configuration has no backends.%s section", flag, uri, uri.Scheme)
	case err != nil:
		return nil, withCode(exitError, fmt.Errorf("%s %s: %w", flag, uri, err))
	}
	return s, nil
}

// openBackendKey opens the backends section of configPath and loads the
// key a flag names; closeKey releases both.
func openBackendKey(cmd *cobra.Command, configPath, flag, uriText string) (s kms.Signer, closeKey func(), err error) {
	reg, err := openBackends(cmd, configPath)
	if err != nil {
		return nil, nil, err
	}
	s, err = loadBackendKey(cmd, reg, flag, uriText)
	if err != nil {
		reg.Close()
		return nil, nil, err
	}
	return s, func() { s.Close(); reg.Close() }, nil
}

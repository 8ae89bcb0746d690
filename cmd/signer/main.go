// Command signer is the app-signing service.
//
//	signer dev      run a self-contained development instance (what `make run` runs)
//	signer serve    run for production from a configuration file
//	signer migrate  apply the ledger's database migrations
//	signer db roles create least-privilege database roles and migrate as the owner
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/appsign/signer/internal/service"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// usageError marks errors in how the command was called.
type usageError struct{ error }

func main() {
	tuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "signer:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(exitUsage)
		}
		os.Exit(exitError)
	}
	os.Exit(exitOK)
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "signer",
		Short:         "Ed25519 app-signing service for plugin marketplaces",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newDevCommand(), newServeCommand(), newMigrateCommand(), newDBCommand())
	return root
}

// buildError marks the configuration errors service.Build finds as usage
// errors (exit status 2).
func buildError(err error) error {
	if errors.Is(err, service.ErrConfig) {
		return usageError{err}
	}
	return err
}

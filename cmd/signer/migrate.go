package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/appsign/signer/internal/ledger"
)

func newMigrateCommand() *cobra.Command {
	var databaseURL string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the ledger's database migrations (forward only, safe to repeat)",
		Long: `Apply the embedded, numbered ledger migrations to the database.

The database URL comes from --database-url or DATABASE_URL. Prefer the
environment variable: a URL may contain a password, and flags show up in
process listings.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if databaseURL == "" {
				databaseURL = os.Getenv("DATABASE_URL")
			}
			if databaseURL == "" {
				return usageError{fmt.Errorf("no database: set DATABASE_URL or pass --database-url")}
			}
			if err := ledger.Migrate(cmd.Context(), databaseURL); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "migrations applied")
			return nil
		},
	}
	cmd.Flags().StringVar(&databaseURL, "database-url", "", "PostgreSQL URL (default $DATABASE_URL)")
	return cmd
}

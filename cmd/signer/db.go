package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/appsign/signer/internal/dbroles"
)

func newDBCommand() *cobra.Command {
	db := &cobra.Command{Use: "db", Short: "Database administration"}
	r := dbroles.DefaultRoles
	roles := &cobra.Command{
		Use:   "roles",
		Short: "Create the migration and service roles, migrate as the migration role, grant the service role its privileges",
		Long: `Run with a superuser's URL in DATABASE_URL (never a flag: it may hold a
password). It creates, unless they exist, two LOGIN roles without passwords
(set them with ALTER ROLE … PASSWORD, or use certificate or IAM
authentication):

  --migrator (default signer_migrator)  owns the schema; the migrations run as it
  --service  (default signer_service)   what signer serve connects as: SELECT and
                                        INSERT, UPDATE only of the columns the
                                        ledger moves (each guarded by a trigger),
                                        no DELETE, no TRUNCATE, owns nothing

then applies the migrations as the migration role and the service role's
privileges. Safe to repeat: run it again after each upgrade.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			adminURL := os.Getenv("DATABASE_URL")
			if adminURL == "" {
				return usageError{fmt.Errorf("no database: set DATABASE_URL to a superuser's URL")}
			}
			if err := dbroles.Setup(cmd.Context(), adminURL, r); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "roles ready: %s owns the schema (migrations applied), %s may run signer serve\n", r.Migrator, r.Service)
			return nil
		},
	}
	roles.Flags().StringVar(&r.Migrator, "migrator", r.Migrator, "role that owns the schema and runs migrations")
	roles.Flags().StringVar(&r.Service, "service", r.Service, "role signer serve connects as")
	db.AddCommand(roles)
	return db
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit statuses, documented in docs/cli.md.
const (
	exitOK          = 0 // success; for verify: the signature is valid
	exitError       = 1 // the operation failed (server error, I/O, …)
	exitUsage       = 2 // bad flags or arguments
	exitBadSig      = 3 // verify: the signature does not match the archive
	exitUntrusted   = 4 // verify: the certificate does not chain to the trust store
	exitExpired     = 5 // verify: a certificate is expired or not yet valid
	exitMalformed   = 6 // verify: the signature file or trust store is malformed
	exitUnavailable = 7 // the server could not be reached or is not serving
	exitRevoked     = 8 // verify: the revocation list revokes the signature (or its list is refused)
)

// exitError carries an exit status with an error.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

func withCode(code int, err error) error { return &codedError{code: code, err: err} }

func usagef(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

// Run executes signerctl with args and returns the exit status.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "signerctl:", err)
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	return exitError
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "signerctl",
		Short: "Operate the signer: sign, fetch trust bundles, verify offline, read the ledger",
		Long: `signerctl talks to a signer server (--server, or $SIGNER_SERVER) and verifies
signatures offline.

Exit statuses:
  0  success (verify: signature valid)
  1  operation failed
  2  usage error
  3  verify: signature does not match the archive
  4  verify: certificate not trusted by the trust store
  5  verify: certificate expired or not yet valid
  6  verify: malformed signature file or trust store
  7  server unreachable or not serving
  8  verify: signature revoked (or revocation data refused by policy)`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: checkFlags,
	}
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(withLocalSign(newSignCommand()), newBundleCommand(), newVerifyCommand(), newLedgerCommand(), newKeyCommand(), newApprovalCommand(),
		newCustomCommand(), newRevokeCommand(), newVendorCommand())
	root.AddCommand(newBackfillCommand())
	root.AddCommand(newCACommand())
	root.AddCommand(newIncidentCommand())
	return root
}

// flagError gives a flag error the usage exit status and, for a connection
// flag on a command that works offline, says so.
func flagError(cmd *cobra.Command, err error) error {
	for _, name := range connFlagNames {
		if strings.HasPrefix(err.Error(), "unknown flag: --"+name) {
			return usagef("%v: %s works offline and takes no connection flags", err, cmd.CommandPath())
		}
	}
	return withCode(exitUsage, err)
}

// exactArgs is cobra.ExactArgs with a usage exit status.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("want %s, got %d argument(s)", what, len(args))
		}
		return nil
	}
}

func noArgs(_ *cobra.Command, args []string) error {
	if len(args) != 0 {
		return usagef("unexpected argument(s) %q", args)
	}
	return nil
}

package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// requireFlags marks flags of cmd required: cobra refuses to run cmd
// without them and checkFlags makes that a usage error.
func requireFlags(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		// Fails only for a flag cmd does not have: a bug, caught by every test.
		if err := cmd.MarkFlagRequired(n); err != nil {
			panic(err)
		}
	}
}

// exactlyOne marks a group of flags of which a command takes exactly one.
func exactlyOne(cmd *cobra.Command, names ...string) {
	cmd.MarkFlagsOneRequired(names...)
	cmd.MarkFlagsMutuallyExclusive(names...)
}

// checkFlags runs before every command (the root's PersistentPreRunE):
// cobra checks required flags and flag groups after the pre-run hooks and
// returns a plain error (exit 1); checking them here first gives them the
// usage status (exit 2) docs/cli.md promises, and names what each missing
// flag is. A required text flag given as "" is missing too.
func checkFlags(cmd *cobra.Command, _ []string) error {
	var missing []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if _, required := f.Annotations[cobra.BashCompOneRequiredFlag]; !required {
			return
		}
		if !f.Changed || (f.Value.Type() == "string" && f.Value.String() == "") {
			missing = append(missing, fmt.Sprintf("--%s (%s)", f.Name, f.Usage))
		}
	})
	if len(missing) > 0 {
		return usagef("missing required flag(s): %s", strings.Join(missing, "; "))
	}
	if err := cmd.ValidateFlagGroups(); err != nil {
		return usagef("%v (see %s --help)", err, cmd.CommandPath())
	}
	return nil
}

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
	var missing, empty []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		emptyText := f.Changed && f.Value.Type() == "string" && f.Value.String() == ""
		if _, required := f.Annotations[cobra.BashCompOneRequiredFlag]; required && (!f.Changed || emptyText) {
			missing = append(missing, fmt.Sprintf("--%s (%s)", f.Name, f.Usage))
		} else if emptyText && inGroup(f) {
			empty = append(empty, "--"+f.Name)
		}
	})
	if len(missing) > 0 {
		return usagef("missing required flag(s): %s", strings.Join(missing, "; "))
	}
	if err := cmd.ValidateFlagGroups(); err != nil {
		return usagef("%v (see %s --help)", err, cmd.CommandPath())
	}
	// A group counts a flag given empty as given: "--cert ''" would pass
	// "exactly one of --cert and --fingerprint" and send neither.
	if len(empty) > 0 {
		return usagef("%s given empty", strings.Join(empty, ", "))
	}
	return nil
}

// groupAnnotations are the annotations cobra's MarkFlags… functions put
// on the flags of a group (unexported in cobra; TestRequiredFlags breaks
// if they change).
var groupAnnotations = []string{
	"cobra_annotation_required_if_others_set",
	"cobra_annotation_one_required",
	"cobra_annotation_mutually_exclusive",
}

func inGroup(f *pflag.Flag) bool {
	for _, a := range groupAnnotations {
		if _, ok := f.Annotations[a]; ok {
			return true
		}
	}
	return false
}

package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// addOutputFlag registers --output on cmd, the format the command prints:
// one of values, the first being the default. A value outside them is a
// usage error (exit 2) that names them, and shell completion offers them,
// so no command validates --output by hand.
func addOutputFlag(cmd *cobra.Command, p *string, values ...string) {
	*p = values[0]
	cmd.Flags().Var(&outputValue{p: p, allowed: values}, "output", "output format: "+strings.Join(values, ", "))
	completeValues(cmd, "output", values...)
}

// completeValues has the shell complete flag name of cmd with values.
func completeValues(cmd *cobra.Command, name string, values ...string) {
	// Registration fails only for an unknown or twice-registered flag: a bug.
	if err := cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)); err != nil {
		panic(err)
	}
}

// outputValue is a string flag restricted to a fixed set of values.
type outputValue struct {
	p       *string
	allowed []string
}

func (v *outputValue) String() string { return *v.p }

func (v *outputValue) Set(s string) error {
	if !slices.Contains(v.allowed, s) {
		return fmt.Errorf("use one of %s", strings.Join(v.allowed, ", "))
	}
	*v.p = s
	return nil
}

// Type is what help shows as the flag's argument: the allowed values.
func (v *outputValue) Type() string { return strings.Join(v.allowed, "|") }

package main

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// formatUsage finds the values a flag's usage names, as in "output format: text, json or junit".
var formatUsage = regexp.MustCompile(`\bformat: ([a-z-]+(?:, [a-z-]+)*(?: or [a-z-]+)?)$`)

// registerCompletions gives the flags of every command their values on <TAB>, so that shell
// completion (the built-in `completion` command) offers what the command accepts: the gates,
// the formats its usage names, and the environments and canary steps of the runbook given with
// --runbook. Flags that already have a completion keep it.
func registerCompletions(c *cobra.Command) {
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if fn := flagCompletion(f); fn != nil {
			_ = c.RegisterFlagCompletionFunc(f.Name, fn)
		}
	})
	for _, sub := range c.Commands() {
		registerCompletions(sub)
	}
}

func flagCompletion(f *pflag.Flag) cobra.CompletionFunc {
	switch {
	case f.Name == "gate":
		var gates []string
		for _, g := range engine.Gates() {
			gates = append(gates, string(g))
		}
		return cobra.FixedCompletions(gates, cobra.ShellCompDirectiveNoFileComp)
	case f.Name == "env":
		return fromRunbook(func(rb *engine.Runbook) []string {
			envs := make([]string, 0, len(rb.Spec.Environments))
			for name := range rb.Spec.Environments {
				envs = append(envs, name)
			}
			slices.Sort(envs)
			return envs
		})
	case f.Name == "step":
		return fromRunbook(func(rb *engine.Runbook) []string {
			var steps []string
			for _, s := range rb.Spec.Strategy.Steps {
				steps = append(steps, strconv.Itoa(s.Percent))
			}
			return steps
		})
	case f.Name == "runbook" || f.Name == "facts" || f.Name == "baseline":
		return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return []cobra.Completion{"yaml", "yml", "json", "cue"}, cobra.ShellCompDirectiveFilterFileExt
		}
	case f.Name == "archive" || f.Name == "policies":
		return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		}
	}
	if m := formatUsage.FindStringSubmatch(f.Usage); m != nil {
		values := strings.FieldsFunc(strings.ReplaceAll(m[1], " or ", ", "), func(r rune) bool { return r == ',' || r == ' ' })
		return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
	}
	return nil
}

// fromRunbook completes from the runbook named by the command's --runbook flag; nothing when
// there is none or it does not load (completion never prints errors).
func fromRunbook(values func(*engine.Runbook) []string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		f := cmd.Flags().Lookup("runbook")
		if f == nil || !f.Changed {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		path := f.Value.String()
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			if all := sv.GetSlice(); len(all) > 0 {
				path = all[0]
			}
		}
		rb, err := engine.LoadRunbook(path)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return values(rb), cobra.ShellCompDirectiveNoFileComp
	}
}

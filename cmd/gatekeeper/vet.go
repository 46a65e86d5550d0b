package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func newVetCmd() *cobra.Command {
	var printDigest bool
	cmd := &cobra.Command{
		Use:   "vet RUNBOOK",
		Short: "Validate a runbook (CUE, YAML or JSON) and its sign-off digest",
		Long: `vet validates a runbook against the #Runbook schema and checks that it has not changed
since it was signed off. Every problem is reported with file:line:col and the field path.

--print-digest prints the digest to put into signoff.digest, computed over the canonical
runbook without its signoff block; the rest of the runbook must be valid for it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rb, err := engine.LoadRunbook(args[0])
			if err != nil {
				return err
			}
			if printDigest {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), rb.SignoffDigest)
				return err
			}
			if err := rb.VerifySignoff(); err != nil {
				return err
			}
			s := rb.Spec
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: ok: %s %s (%s), %s, window %s, commander %s, signed off by %s at %s\n",
				rb.Path, s.Service, s.Release.Version, shortSHA(s.Release.Commit), strategySummary(rb), minutes(s.Window.Duration),
				s.Commander, strings.Join(s.Signoff.By, ", "), s.Signoff.At.UTC().Format(time.RFC3339))
			return err
		},
	}
	cmd.Flags().BoolVar(&printDigest, "print-digest", false, "print the sign-off digest of the runbook and exit")
	return cmd
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func strategySummary(rb *engine.Runbook) string {
	st := rb.Spec.Strategy
	if st.Kind != "canary" {
		return st.Kind
	}
	out := "canary"
	for i, step := range st.Steps {
		sep := " "
		if i > 0 {
			sep = "/"
		}
		out += fmt.Sprintf("%s%d%%", sep, step.Percent)
	}
	return out
}

// minutes prints a duration the way runbooks write windows: 60m, not 1h0m0s.
func minutes(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%dm", int(d/time.Minute))
	}
	return d.String()
}

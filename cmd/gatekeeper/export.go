package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func newExportCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export ARCHIVE",
		Short: "Write an archive's records as OPA decision-log events (one JSON per line)",
		Long: `export verifies a launch archive while writing each record as an OPA decision-log event:
decision_id, path (the gate's package), the exact input, result (decision, checks, warnings),
timestamp (the decision's now) and bundles.gatekeeper.revision (the policies digest). Exit 4
when the archive fails verification.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "decision-log" {
				return fmt.Errorf("unknown export format %q (want decision-log)", format)
			}
			a, err := archive.Open(args[0])
			if err == nil {
				err = a.WriteDecisionLog(cmd.OutOrStdout())
			}
			var ve *archive.VerifyError
			if errors.As(err, &ve) {
				fmt.Fprintf(cmd.ErrOrStderr(), "gatekeeper: %v\n", err)
				return exitCode(engine.ExitVerifyFailed)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "decision-log", "export format: decision-log")
	return cmd
}

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/report"
)

func newReportCmd() *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "report ARCHIVE [--format markdown|html] [-o FILE]",
		Short: "Write the launch report of an archived launch",
		Long: `report verifies a launch archive and writes its launch report from the archive alone:
what was deployed and whether it was the UAT build, every gate's decision with its reasons,
the outcome, smoke results, monitoring charts (HTML) or tables (Markdown), integrations, data
integrity, notifications, manual checks, known issues and the on-call handoff. The output is
deterministic. Exit 4 when the archive fails verification.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "markdown" && format != "html" {
				return fmt.Errorf("--format %q: want markdown or html", format)
			}
			r, err := report.Load(args[0])
			var ve *archive.VerifyError
			if errors.As(err, &ve) {
				fmt.Fprintf(cmd.ErrOrStderr(), "gatekeeper: %v\n", err)
				return exitCode(engine.ExitVerifyFailed)
			}
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if format == "html" {
				err = r.HTML(&buf)
			} else {
				err = r.Markdown(&buf)
			}
			if err != nil {
				return err
			}
			if out == "" {
				_, err = cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "markdown", "report format: markdown or html")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the report to FILE instead of stdout")
	return cmd
}

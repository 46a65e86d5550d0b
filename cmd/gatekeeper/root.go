package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// exitCode carries a decided exit code out of RunE without os.Exit, so commands stay testable.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// run executes the command line and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return engine.ExitGo
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	fmt.Fprintf(stderr, "gatekeeper: %v\n", err)
	return engine.ExitError
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "gatekeeper",
		Short: "Decide launch-day go / no-go / rollback from declarative, testable rules",
		Long: `gatekeeper decides, at every gate of a production launch, whether to go, stop (no-go)
or roll back. Collectors gather facts, CUE schemas validate the signed-off runbook, and
Rego policies decide each gate; every decision explains itself with the observed values.

Exit codes: 0 go/complete/verified, 1 could not decide, 2 no-go or hold, 3 rollback,
4 archive failed verification, 5 replay mismatch, 6 rollback failed or not verified.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       engine.Version(),
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newVetCmd(), newCollectCmd(), newEvaluateCmd(), newReplayCmd(), newReportCmd(), newExportCmd(), newKeygenCmd(), newTestCmd(), newVersionCmd(), newBundleCmd(), newGenDocsCmd(), newWatchCmd(), newLaunchCmd(), newAttestCmd(), newServeCmd())
	registerCompletions(root)
	return root
}

package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func newTestCmd() *cobra.Command {
	var (
		withBuiltin bool
		threshold   float64
		coverage    bool
		format      string
		verbose     bool
	)
	cmd := &cobra.Command{
		Use:   "test [DIR...]",
		Short: "Run the Rego policy tests with coverage (same results as opa test)",
		Long: `test runs the Rego tests of the given directories through OPA's tester, as
'opa test --coverage DIR...' does. Without DIR it tests the built-in policies embedded in
this binary. Line coverage is reported as 'opa test --coverage' does (--coverage=false skips it). --with-builtin adds the built-in policies to your directories, so your tests can
use the shared library and the gates you extend. Exit 0 when every test passes (and coverage
meets --threshold), 2 when a test fails.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			mods := map[string]string{}
			if len(args) == 0 || withBuiltin {
				b, err := engine.BuiltinModulesWithTests()
				if err != nil {
					return err
				}
				for k, v := range b {
					mods[k] = v
				}
			}
			for _, dir := range args {
				user, err := engine.ReadModuleDir(dir, dir+"/", true)
				if err != nil {
					return err
				}
				for k, v := range user {
					mods[k] = v
				}
			}
			rep, err := engine.RunPolicyTests(cmd.Context(), mods, coverage || threshold > 0)
			if err != nil {
				return err
			}
			if err := renderTests(cmd.OutOrStdout(), rep, format, verbose, coverage || threshold > 0); err != nil {
				return err
			}
			if code := rep.ExitCode(); code != 0 {
				return exitCode(code)
			}
			if len(rep.Cases) == 0 {
				return fmt.Errorf("no tests were run")
			}
			if threshold > 0 && rep.Coverage < threshold {
				fmt.Fprintf(cmd.ErrOrStderr(), "coverage %.2f%% is below the threshold %.2f%%\n", rep.Coverage, threshold)
				return exitCode(2)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&withBuiltin, "with-builtin", false, "also load the built-in policies and their tests")
	cmd.Flags().BoolVar(&coverage, "coverage", true, "report line coverage, as opa test --coverage (--coverage=false is several times faster)")
	cmd.Flags().Float64Var(&threshold, "threshold", 0, "minimum coverage percent (implies --coverage)")
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list every test, not only failures")
	return cmd
}

func renderTests(w io.Writer, rep *engine.TestReport, format string, verbose, coverage bool) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	if format != "text" {
		return fmt.Errorf("unknown output format %q (want text or json)", format)
	}
	for _, c := range rep.Cases {
		switch {
		case c.Skip:
			if verbose {
				fmt.Fprintf(w, "SKIP %s.%s (%s:%d)\n", c.Package, c.Name, c.File, c.Line)
			}
		case !c.Pass:
			fmt.Fprintf(w, "FAIL %s.%s (%s:%d)\n", c.Package, c.Name, c.File, c.Line)
			if c.Error != "" {
				fmt.Fprintf(w, "  error: %s\n", c.Error)
			}
			if c.Output != "" {
				fmt.Fprintf(w, "  output: %s\n", c.Output)
			}
		case verbose:
			fmt.Fprintf(w, "PASS %s.%s (%s:%d)\n", c.Package, c.Name, c.File, c.Line)
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", rep.Passed(), rep.Failed())
	if coverage {
		fmt.Fprintf(w, "coverage: %.2f%%\n", rep.Coverage)
		for _, u := range rep.Uncovered {
			if verbose {
				fmt.Fprintf(w, "  not covered: %s\n", u)
			}
		}
	}
	return nil
}

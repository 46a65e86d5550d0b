package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print gatekeeper's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "gatekeeper %s (%s, %s/%s)\n", engine.Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// buildInfo is what `gatekeeper version` reports: enough to tell which source, built how, made
// a decision record (the record itself carries only the version).
type buildInfo struct {
	Version   string `json:"version"`
	Module    string `json:"module,omitempty"`
	Revision  string `json:"vcs_revision,omitempty"`
	Time      string `json:"vcs_time,omitempty"`
	Modified  *bool  `json:"vcs_modified,omitempty"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// readBuildInfo gathers the build information of the running binary; bi may be nil when the
// binary was built without module support.
func readBuildInfo(bi *debug.BuildInfo) buildInfo {
	info := buildInfo{
		Version:   engine.Version(),
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi == nil {
		return info
	}
	info.Module = bi.Main.Path
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			if m, err := strconv.ParseBool(s.Value); err == nil {
				info.Modified = &m
			}
		}
	}
	return info
}

// writeText prints one line a person can paste into a bug report, e.g.
// "gatekeeper v1.2.0 (go1.26.8, linux/amd64, revision 0a1b2c3d4e5f, 2026-11-25T10:00:00Z, modified)".
func (b buildInfo) writeText(w io.Writer) error {
	extra := ""
	if b.Revision != "" {
		rev := b.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		extra += ", revision " + rev
	}
	if b.Time != "" {
		extra += ", " + b.Time
	}
	if b.Modified != nil && *b.Modified {
		extra += ", modified"
	}
	_, err := fmt.Fprintf(w, "gatekeeper %s (%s, %s%s)\n", b.Version, b.GoVersion, b.Platform, extra)
	return err
}

func newVersionCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version [-o text|json]",
		Short: "Print gatekeeper's version and build information",
		Long: `version prints gatekeeper's version (set at build time, else the module version, else
"devel"), the Go version and platform, and the VCS revision, time and modified flag that the Go
toolchain stamped into the binary (absent when built with -buildvcs=false or outside a checkout).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bi, _ := debug.ReadBuildInfo()
			info := readBuildInfo(bi)
			switch format {
			case "text":
				return info.writeText(cmd.OutOrStdout())
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			default:
				return fmt.Errorf("version: unknown output format %q (want text or json)", format)
			}
		},
	}
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text or json")
	return cmd
}

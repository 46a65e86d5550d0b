package main

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func TestVersionCommand(t *testing.T) {
	t.Run("text", func(t *testing.T) {
		code, out, stderr := gk(t, "version")
		want := "gatekeeper " + engine.Version() + " (" + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH
		if code != 0 || stderr != "" || !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 1 {
			t.Fatalf("version: exit %d, stdout %q, stderr %q; want one line starting %q", code, out, stderr, want)
		}
	})
	t.Run("json", func(t *testing.T) {
		code, out, stderr := gk(t, "version", "-o", "json")
		if code != 0 || stderr != "" {
			t.Fatalf("version -o json: exit %d, stderr %q", code, stderr)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("version -o json is not JSON: %v\n%s", err, out)
		}
		if got["version"] != engine.Version() || got["go_version"] != runtime.Version() || got["platform"] != runtime.GOOS+"/"+runtime.GOARCH {
			t.Errorf("version -o json = %s", out)
		}
		// A test binary is built from this module, so the build information names it.
		if got["module"] != "github.com/gatekeeper-dev/gatekeeper" {
			t.Errorf("module = %v, want github.com/gatekeeper-dev/gatekeeper", got["module"])
		}
	})
	t.Run("bad format", func(t *testing.T) {
		code, out, stderr := gk(t, "version", "-o", "yaml")
		if code != 1 || out != "" || !strings.Contains(stderr, `unknown output format "yaml"`) {
			t.Fatalf("version -o yaml: exit %d, stdout %q, stderr %q", code, out, stderr)
		}
	})
	t.Run("root flag", func(t *testing.T) {
		code, out, _ := gk(t, "--version")
		if code != 0 || !strings.Contains(out, engine.Version()) {
			t.Fatalf("--version: exit %d, stdout %q", code, out)
		}
	})
}

// TestReadBuildInfo checks how the toolchain's VCS stamps are read: the test binary itself is
// built with -buildvcs=false here, so the settings are given as `go version -m` shows them.
func TestReadBuildInfo(t *testing.T) {
	modified := func(b bool) *bool { return &b }
	for _, tc := range []struct {
		name     string
		bi       *debug.BuildInfo
		want     buildInfo
		wantText string
	}{
		{
			name: "stamped and modified",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/gatekeeper-dev/gatekeeper"}, Settings: []debug.BuildSetting{
				{Key: "-trimpath", Value: "true"},
				{Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"},
				{Key: "vcs.time", Value: "2026-11-25T10:00:00Z"},
				{Key: "vcs.modified", Value: "true"},
			}},
			want: buildInfo{Module: "github.com/gatekeeper-dev/gatekeeper", Revision: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
				Time: "2026-11-25T10:00:00Z", Modified: modified(true), GoVersion: "go1.26.8"},
			wantText: "go1.26.8, " + runtime.GOOS + "/" + runtime.GOARCH + ", revision 0a1b2c3d4e5f, 2026-11-25T10:00:00Z, modified)\n",
		},
		{
			name: "clean checkout",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/gatekeeper-dev/gatekeeper"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"},
			}},
			want:     buildInfo{Module: "github.com/gatekeeper-dev/gatekeeper", Revision: "abc", Modified: modified(false), GoVersion: "go1.26.8"},
			wantText: "go1.26.8, " + runtime.GOOS + "/" + runtime.GOARCH + ", revision abc)\n",
		},
		{
			name:     "no build information",
			want:     buildInfo{GoVersion: runtime.Version()},
			wantText: runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := readBuildInfo(tc.bi)
			tc.want.Version, tc.want.Platform = engine.Version(), runtime.GOOS+"/"+runtime.GOARCH
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(tc.want)
			if string(gj) != string(wj) {
				t.Errorf("readBuildInfo = %s\nwant            %s", gj, wj)
			}
			var sb strings.Builder
			if err := got.writeText(&sb); err != nil {
				t.Fatal(err)
			}
			if want := "gatekeeper " + engine.Version() + " (" + tc.wantText; sb.String() != want {
				t.Errorf("text = %q, want %q", sb.String(), want)
			}
		})
	}
}

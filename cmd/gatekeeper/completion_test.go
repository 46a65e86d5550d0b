package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cliEnv is set when this test binary is started as the gatekeeper command by a shell's
// completion script (see gatekeeperOnPath).
const cliEnv = "GATEKEEPER_TEST_AS_CLI"

// TestGatekeeperAsCLI is not a test: when cliEnv is set it runs the arguments after "--" as the
// gatekeeper command line and exits, so completion scripts can call a real gatekeeper (their
// __complete requests) without building a binary.
func TestGatekeeperAsCLI(t *testing.T) {
	if os.Getenv(cliEnv) != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(run(args, os.Stdout, os.Stderr))
}

// gatekeeperOnPath puts a `gatekeeper` wrapper around this test binary first on PATH and
// returns the environment for a shell that uses it.
func gatekeeperOnPath(t *testing.T) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := "#!/bin/sh\n" + cliEnv + "=1 exec '" + exe + "' -test.run='^TestGatekeeperAsCLI$' -- \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "gatekeeper"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// completionScript returns `gatekeeper completion SHELL` and writes it to a file.
func completionScript(t *testing.T, shell string) (string, string) {
	t.Helper()
	code, out, stderr := gk(t, "completion", shell)
	if code != 0 || stderr != "" {
		t.Fatalf("completion %s: exit %d, stderr %q", shell, code, stderr)
	}
	path := filepath.Join(t.TempDir(), "gatekeeper."+shell)
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return out, path
}

func shellOut(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func needShell(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed (apt-get install %s); its completion script is only checked for content", name, name)
	}
}

// TestCompletionScripts prints each shell's script through the CLI, checks that the shell
// parses it, and, where the shell can be driven from a script, that completing a partial
// command line through it gives gatekeeper's commands and flags.
func TestCompletionScripts(t *testing.T) {
	t.Run("bash", func(t *testing.T) {
		script, path := completionScript(t, "bash")
		if !strings.Contains(script, "__start_gatekeeper") || !strings.Contains(script, "complete -o default -F __start_gatekeeper gatekeeper") {
			t.Fatalf("bash script does not register __start_gatekeeper:\n%.400s", script)
		}
		shellOut(t, os.Environ(), "bash", "-n", path)
		// cobra's bash script (v2) relies on the bash-completion package, as every
		// distribution's bash does interactively.
		const bashCompletion = "/usr/share/bash-completion/bash_completion"
		if _, err := os.Stat(bashCompletion); err != nil {
			t.Skipf("%s is missing (apt-get install bash-completion): the bash script was only parsed", bashCompletion)
		}
		env := gatekeeperOnPath(t)
		complete := func(line string) []string {
			words := strings.Fields(line)
			if strings.HasSuffix(line, " ") {
				words = append(words, "")
			}
			prog := `source ` + bashCompletion + `; source "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
__start_gatekeeper gatekeeper "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" 2>/dev/null
printf '%s\n' "${COMPREPLY[@]}"`
			out := shellOut(t, env, "bash", append([]string{"-c", prog, "bash", path}, words...)...)
			return strings.Fields(out)
		}
		for _, tc := range []struct {
			name, line string
			want       []string
		}{
			{name: "command", line: "gatekeeper eva", want: []string{"evaluate"}},
			{name: "flag", line: "gatekeeper evaluate --runb", want: []string{"--runbook"}},
			{name: "subcommand", line: "gatekeeper completion ", want: []string{"bash", "fish", "powershell", "zsh"}},
			{name: "gate value", line: "gatekeeper evaluate --gate p", want: []string{"pre-cutover", "post-deploy", "post-smoke", "post-rollback"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := complete(tc.line); strings.Join(got, " ") != strings.Join(tc.want, " ") {
					t.Errorf("%q completes to %q, want %q", tc.line, got, tc.want)
				}
			})
		}
	})
	t.Run("zsh", func(t *testing.T) {
		script, path := completionScript(t, "zsh")
		if !strings.HasPrefix(script, "#compdef gatekeeper") {
			t.Fatalf("zsh script does not start with #compdef gatekeeper:\n%.200s", script)
		}
		needShell(t, "zsh")
		shellOut(t, os.Environ(), "zsh", "-n", path)
	})
	t.Run("fish", func(t *testing.T) {
		script, path := completionScript(t, "fish")
		if !strings.Contains(script, "complete -c gatekeeper") {
			t.Fatalf("fish script does not register completions for gatekeeper:\n%.400s", script)
		}
		needShell(t, "fish")
		shellOut(t, os.Environ(), "fish", "--no-execute", path)
		out := shellOut(t, gatekeeperOnPath(t), "fish", "--no-config", "-c", "source "+path+"; complete -C'gatekeeper eva'")
		if !strings.HasPrefix(out, "evaluate\t") {
			t.Errorf("fish completes 'gatekeeper eva' to %q, want evaluate with its description", out)
		}
	})
	t.Run("unknown shell", func(t *testing.T) {
		// cobra answers an unsupported shell with the list of supported ones, not a script.
		code, out, _ := gk(t, "completion", "tcsh")
		if code != 0 || !strings.Contains(out, "Available Commands:") || strings.Contains(out, "complete ") {
			t.Fatalf("completion tcsh: exit %d, stdout %q", code, out)
		}
	})
}

// TestFlagValueCompletions asks the completion machinery (what every shell script calls) for
// the values of flags: gates, the formats a flag's usage names, and the environments and steps
// of the runbook on the command line.
func TestFlagValueCompletions(t *testing.T) {
	const rb = "testdata/example/runbook.yaml"
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"gates", []string{"evaluate", "--gate", ""}, []string{"pre-cutover", "post-deploy", "post-smoke", "canary", "window", "post-rollback"}},
		{"evaluate formats", []string{"evaluate", "-o", ""}, []string{"text", "json", "junit", "github"}},
		{"report formats", []string{"report", "--format", ""}, []string{"markdown", "html"}},
		{"version formats", []string{"version", "-o", ""}, []string{"text", "json"}},
		{"environments of the runbook", []string{"evaluate", "--runbook", rb, "--env", ""}, []string{"production", "staging"}},
		{"steps of the runbook", []string{"evaluate", "--runbook", rb, "--step", ""}, []string{"5", "25", "100"}},
		{"no runbook, no environments", []string{"evaluate", "--env", ""}, nil},
		{"unreadable runbook", []string{"evaluate", "--runbook", "no/such.yaml", "--env", ""}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, _ := gk(t, append([]string{"__complete"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				if !strings.HasPrefix(l, ":") {
					got = append(got, l)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("%v completes to %q, want %q", tc.args, got, tc.want)
			}
		})
	}
}

package launch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/notify/notifytest"
)

func TestExecRunner(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	hook, _ := filepath.Abs("testdata/hooks/hook.sh")
	secret := "https://hooks.example.net/services/T000/B000/s3cr3tvalue"
	tests := []struct {
		name     string
		argv     []string
		timeout  time.Duration
		exit     int
		timedOut bool
		errPart  string
	}{
		{name: "exit 0", argv: []string{hook, "deploy", log, "0"}, timeout: 10 * time.Second, exit: 0},
		{name: "exit status kept", argv: []string{hook, "deploy", log, "7"}, timeout: 10 * time.Second, exit: 7},
		{name: "timeout kills the group", argv: []string{hook, "deploy", log, "0", "30"}, timeout: 300 * time.Millisecond, exit: -1, timedOut: true, errPart: "timed out"},
		{name: "missing command", argv: []string{filepath.Join(dir, "nope")}, timeout: time.Second, exit: -1, errPart: "no such file"},
		{name: "no shell: metacharacters are arguments", argv: []string{"/bin/echo", "$(id)", ";", "exit 3"}, timeout: time.Second, exit: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GK_TEST_SLACK_URL", secret)
			step := 25
			start := time.Now()
			res := ExecRunner{}.Run(context.Background(), Hook{Name: HookShift, Step: &step, Command: tt.argv, Dir: dir,
				Timeout: tt.timeout, Env: []string{"GATEKEEPER_STEP=25"}, Secrets: []string{secret}}, RealClock())
			if took := time.Since(start); took > 8*time.Second {
				t.Errorf("took %s", took)
			}
			if res.ExitCode != tt.exit || res.TimedOut != tt.timedOut || !strings.Contains(res.Err, tt.errPart) {
				t.Fatalf("exit %d timedOut %v err %q, want %d %v %q", res.ExitCode, res.TimedOut, res.Err, tt.exit, tt.timedOut, tt.errPart)
			}
			if res.OK() != (tt.exit == 0 && !tt.timedOut && tt.errPart == "") {
				t.Errorf("OK() = %v", res.OK())
			}
			if strings.Contains(res.OutputTail, "s3cr3t") || strings.Contains(res.Err, "s3cr3t") {
				t.Errorf("secret in hook output: %q", res.OutputTail)
			}
			d := res.Data()
			if d["name"] != HookShift || d["step"] != 25 || d["exit_code"] != tt.exit || d["timed_out"] != tt.timedOut {
				t.Errorf("data %v", d)
			}
		})
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "deploy step=25") {
		t.Errorf("hook did not see GATEKEEPER_STEP: %s", b)
	}
	res := ExecRunner{}.Run(context.Background(), Hook{Name: "x", Command: []string{hook, "deploy", log, "0"}, Timeout: time.Second}, RealClock())
	if !strings.Contains(res.OutputTail, "deploy: posting to") || !strings.Contains(res.OutputTail, "deploy: done") {
		t.Errorf("output tail %q lacks stdout or stderr", res.OutputTail)
	}
}

func TestTailKeepsTheEnd(t *testing.T) {
	tl := &tail{max: 10}
	for i := 0; i < 100; i++ {
		_, _ = tl.Write([]byte("abcdefghij"))
	}
	_, _ = tl.Write([]byte("END"))
	if got := tl.String(); got != "…defghijEND" {
		t.Errorf("tail %q", got)
	}
}

func TestLaunchArchivesRedactedHookOutput(t *testing.T) {
	f := newFixture(t, rbParams{Hooks: allHooks})
	t.Setenv("GK_TEST_SLACK_URL", f.recv.HookURL()) // what the hook prints
	r := f.runner(f.realistic())
	if _, err := r.Launch(context.Background()); err != nil {
		t.Fatal(err)
	}
	hooks := f.events(EventHook)
	if len(hooks) != 4 {
		t.Fatalf("%d hook events, want 4", len(hooks))
	}
	for _, h := range hooks {
		tail, _ := h["output_tail"].(string)
		if !strings.Contains(tail, "posting to") || strings.Contains(tail, notifytest.Secret) {
			t.Errorf("hook %v output tail %q: want it archived, redacted", h["name"], tail)
		}
		for _, k := range []string{"command", "exit_code", "duration_ms", "timed_out", "started_at", "finished_at", "step"} {
			if _, ok := h[k]; !ok {
				t.Errorf("hook event lacks %s: %v", k, h)
			}
		}
	}
	if v := f.out.String(); strings.Contains(v, notifytest.Secret) || !strings.Contains(v, "# deploy| deploy: posting to") {
		t.Errorf("view shows hook output unredacted, or not at all:\n%s", v)
	}
	b, err := os.ReadFile(filepath.Join(f.archive, "records.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), notifytest.Secret) || !strings.Contains(string(b), "posting to") {
		t.Error("secret in the archive")
	}
}

func TestHookOutputLinesReachTheViewRedacted(t *testing.T) {
	var lines []string
	secret := "tok-0123456789abcdef"
	res := ExecRunner{}.Run(context.Background(), Hook{Name: "deploy", Command: []string{"/bin/sh", "-c", "echo one; echo two " + secret + "; printf three"},
		Timeout: 5 * time.Second, Secrets: []string{secret}, Output: func(l string) { lines = append(lines, l) }}, RealClock())
	if !res.OK() {
		t.Fatalf("%+v", res)
	}
	if want := []string{"one", "two [REDACTED]", "three"}; strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("lines %q, want %q", lines, want)
	}
}

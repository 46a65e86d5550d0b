package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestArchivedRecordReplaysWithStockOPA re-runs archived records the way the README tells an
// auditor to: the input blob and the archived policy modules, with the stock opa eval, and
// wants exactly the archived decision, checks and warnings.
func TestArchivedRecordReplaysWithStockOPA(t *testing.T) {
	opa, err := exec.LookPath("opa")
	if err != nil {
		t.Skip("stock opa not on PATH; .ci/run installs it")
	}
	dir := filepath.Join(t.TempDir(), "launch")
	for _, s := range []struct{ gate, file, step string }{
		{"pre-cutover", "healthy__pre-cutover.json", ""},
		{"canary", "sustained-errors__canary-25.json", "25"},
		{"window", "unknown-too-long__window.json", ""},
		{"post-rollback", "post-rollback-failed__post-rollback.json", ""},
	} {
		args := []string{"evaluate", "--runbook", exampleRunbook, "--env", "production", "--gate", s.gate,
			"--facts", filepath.Join(scenarios, s.file), "--archive", dir}
		if s.step != "" {
			args = append(args, "--step", s.step)
		}
		if code, _, stderr := gk(t, args...); code == 1 {
			t.Fatalf("evaluate %s: %s", s.file, stderr)
		}
	}
	f, err := os.Open(filepath.Join(dir, "records.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	blob := func(digest string) string {
		return filepath.Join(dir, "objects", "sha256", strings.TrimPrefix(digest, "sha256:"))
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	n := 0
	for sc.Scan() {
		n++
		var rec struct {
			Gate           string `json:"gate"`
			Decision       string `json:"decision"`
			Checks         any    `json:"checks"`
			Warnings       any    `json:"warnings"`
			InputDigest    string `json:"input_digest"`
			PoliciesDigest string `json:"policies_digest"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		// The archived policy set, written out as files for opa.
		b, err := os.ReadFile(blob(rec.PoliciesDigest))
		if err != nil {
			t.Fatal(err)
		}
		var mods map[string]string
		if err := json.Unmarshal(b, &mods); err != nil {
			t.Fatal(err)
		}
		pdir := t.TempDir()
		for name, src := range mods {
			p := filepath.Join(pdir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		pkg := strings.ReplaceAll(rec.Gate, "-", "_")
		out, err := exec.Command(opa, "eval", "--format", "json", "--capabilities", "policies/capabilities.json",
			"-d", pdir, "-i", blob(rec.InputDigest), "data.gatekeeper.gates."+pkg).Output()
		if err != nil {
			t.Fatalf("record %d: opa eval: %v", n, err)
		}
		var res struct {
			Result []struct {
				Expressions []struct {
					Value struct {
						Decision string `json:"decision"`
						Checks   any    `json:"checks"`
						Warnings any    `json:"warnings"`
					} `json:"value"`
				} `json:"expressions"`
			} `json:"result"`
		}
		if err := json.Unmarshal(out, &res); err != nil || len(res.Result) != 1 {
			t.Fatalf("record %d: opa eval output: %v\n%s", n, err, out)
		}
		got := res.Result[0].Expressions[0].Value
		if got.Decision != rec.Decision || !reflect.DeepEqual(got.Checks, rec.Checks) || !reflect.DeepEqual(got.Warnings, rec.Warnings) {
			t.Errorf("record %d (%s): stock opa decided %s, the archive says %s (or checks/warnings differ)", n, rec.Gate, got.Decision, rec.Decision)
		}
	}
	if n != 4 {
		t.Fatalf("archive holds %d records, want 4", n)
	}
}

// TestExportDecisionLog checks that every archived record exports as one OPA decision-log
// event carrying its exact input, and that a tampered archive exports nothing but exit 4.
func TestExportDecisionLog(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "launch")
	for _, file := range []string{"healthy__window.json", "latency-regression__window.json"} {
		if code, _, stderr := gk(t, "evaluate", "--runbook", exampleRunbook, "--env", "production", "--gate", "window",
			"--facts", filepath.Join(scenarios, file), "--archive", dir); code == 1 {
			t.Fatalf("evaluate %s: %s", file, stderr)
		}
	}
	code, out, stderr := gk(t, "export", dir)
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 events, got %d:\n%s", len(lines), out)
	}
	for i, want := range []string{"go", "rollback"} {
		var ev struct {
			DecisionID string `json:"decision_id"`
			Path       string `json:"path"`
			Input      struct {
				Gate  string         `json:"gate"`
				Facts map[string]any `json:"facts"`
			} `json:"input"`
			Result struct {
				Decision string `json:"decision"`
			} `json:"result"`
			Timestamp string                    `json:"timestamp"`
			Bundles   map[string]map[string]any `json:"bundles"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Result.Decision != want || ev.Path != "gatekeeper/gates/window" || ev.Input.Gate != "window" ||
			ev.Input.Facts["error_rate"] == nil || ev.DecisionID == "" || ev.Timestamp == "" ||
			!strings.HasPrefix(ev.Bundles["gatekeeper"]["revision"].(string), "sha256:") {
			t.Errorf("event %d is not a complete decision-log event: %s", i+1, lines[i])
		}
	}
	// One changed byte in the first record: verification fails and says which record.
	recs := filepath.Join(dir, "records.jsonl")
	b, err := os.ReadFile(recs)
	if err != nil {
		t.Fatal(err)
	}
	b[40] ^= 1
	if err := os.WriteFile(recs, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = gk(t, "export", dir)
	if code != 4 || !strings.Contains(stderr, "record 1") {
		t.Fatalf("export of a tampered archive: exit %d, want 4 naming record 1\n%s", code, stderr)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// TestMain runs every test from the repository root, so paths in commands, records and golden
// files are the ones a user types from a checkout.
func TestMain(m *testing.M) {
	flag.Parse()
	if err := os.Chdir("../.."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// gk runs the CLI in process and returns its exit code, stdout and stderr.
func gk(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

type scenario struct {
	File     string `json:"file"`
	Gate     string `json:"gate"`
	Step     *int   `json:"step"`
	Runbook  string `json:"runbook"`
	Decision string `json:"decision"`
	Exit     int    `json:"exit"`
	Why      string `json:"why"`
}

func loadScenarios(t *testing.T) []scenario {
	t.Helper()
	b, err := os.ReadFile("testdata/example/scenarios/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var out []scenario
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("expected.json lists %d scenarios; the example launch needs every gate and failure mode", len(out))
	}
	return out
}

func (s scenario) args(format string) []string {
	rb := s.Runbook
	if rb == "" {
		rb = "runbook.yaml"
	}
	args := []string{"evaluate", "--runbook", filepath.Join("testdata/example", rb), "--env", "production",
		"--gate", s.Gate, "--facts", filepath.Join("testdata/example/scenarios", s.File), "-o", format}
	if s.Step != nil {
		args = append(args, "--step", strconv.Itoa(*s.Step))
	}
	return args
}

// TestExampleScenarios decides every recorded gate of the example launch and compares the
// decision, the exit code and both renderings with their golden files.
func TestExampleScenarios(t *testing.T) {
	for _, s := range loadScenarios(t) {
		name := strings.TrimSuffix(s.File, ".json")
		t.Run(name, func(t *testing.T) {
			code, out, stderr := gk(t, s.args("json")...)
			if code != s.Exit {
				t.Fatalf("exit %d, want %d (%s)\nstderr: %s\n%s", code, s.Exit, s.Why, stderr, out)
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(out), &rec); err != nil {
				t.Fatalf("json output: %v\n%s", err, out)
			}
			if rec["decision"] != s.Decision {
				t.Fatalf("decision %v, want %s (%s)\n%s", rec["decision"], s.Decision, s.Why, out)
			}
			golden(t, filepath.Join("testdata/golden", name+".json"), out, true)
			_, text, _ := gk(t, s.args("text")...)
			golden(t, filepath.Join("testdata/golden", name+".txt"), text, false)
		})
	}
}

// golden compares got with a golden file (structurally for JSON), rewriting it with -update.
func golden(t *testing.T, path, got string, isJSON bool) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./... -update to create it)", err)
	}
	if isJSON {
		var a, b any
		if err := json.Unmarshal([]byte(got), &a); err != nil {
			t.Fatalf("output is not JSON: %v", err)
		}
		if err := json.Unmarshal(want, &b); err != nil {
			t.Fatalf("%s is not JSON: %v", path, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("output differs from %s (go test ./... -update rewrites it)\n--- got\n%s", path, got)
		}
		return
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test ./... -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

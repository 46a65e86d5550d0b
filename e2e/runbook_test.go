package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// release is an entry of the demo's catalog, as `demo-shop releases` prints it.
type release struct {
	Version    string  `json:"version"`
	Commit     string  `json:"commit"`
	Image      string  `json:"image"`
	ErrorRatio float64 `json:"error_ratio"`
}

func (s *stack) release(version string) release {
	s.t.Helper()
	out, err := exec.Command(s.bins.shop, "releases", "--release", version).Output()
	if err != nil {
		s.t.Fatalf("demo-shop releases --release %s: %v", version, err)
	}
	var r release
	if err := json.Unmarshal(out, &r); err != nil {
		s.t.Fatal(err)
	}
	return r
}

// timing is the runbook's clock: durations as the runbook writes them, and the test-only
// time scale that compresses the window, the bakes, max_unknown and the announce lead.
type timing struct {
	Bake, Window, Interval, MaxUnknown, AnnounceLead string
	TimeScale                                        int
}

// writeRunbook writes runbook.yaml for launching version over rollback, with its UAT
// record, and signs it off with the digest gatekeeper computes. It returns the runbook path.
func (s *stack) writeRunbook(version, rollback string, tm timing) string {
	s.t.Helper()
	rel, rb := s.release(version), s.release(rollback)
	s.writeUAT(rel)
	hooks, err := filepath.Abs("testdata/hooks")
	if err != nil {
		s.t.Fatal(err)
	}
	tmpl := template.Must(template.New("runbook.yaml.tmpl").Funcs(template.FuncMap{
		"list": func(v ...string) []string { return v },
	}).ParseFiles("testdata/runbook.yaml.tmpl"))
	var b bytes.Buffer
	if err := tmpl.Execute(&b, map[string]any{
		"Release": rel, "Rollback": rb,
		"Bake": tm.Bake, "Window": tm.Window, "Interval": tm.Interval, "MaxUnknown": tm.MaxUnknown,
		"AnnounceLead": tm.AnnounceLead, "TimeScale": tm.TimeScale,
		"PrometheusURL": s.prom.URL, "CanaryURL": "http://" + s.canaryAddr, "StableURL": "http://" + s.stableAddr,
		"PaymentsURL": s.payments.URL, "Hooks": hooks, "State": s.state,
		"RehearsalArchive": filepath.Join(s.dir, "archives", "staging"),
	}); err != nil {
		s.t.Fatal(err)
	}
	path := filepath.Join(s.dir, "runbook.yaml")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		s.t.Fatal(err)
	}
	res := s.gatekeeper("vet", "--print-digest", path)
	if res.code != 0 {
		s.t.Fatalf("vet --print-digest: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	digest := strings.TrimSpace(res.stdout)
	signoff := "signoff:\n  by: [\"Dana Ortiz\", \"Priya Raman (client)\"]\n  at: \"2026-11-26T09:00:00Z\"\n  digest: \"" + digest + "\"\n"
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(signoff)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		s.t.Fatal(err)
	}
	if res := s.gatekeeper("vet", path); res.code != 0 {
		s.t.Fatalf("vet of the signed-off runbook: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	return path
}

// writeUAT writes the UAT approval of rel as an in-toto test-result statement, the record the
// runbook's uat.record names.
func (s *stack) writeUAT(rel release) {
	s.t.Helper()
	name, digest, _ := strings.Cut(rel.Image, "@sha256:")
	doc := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"predicateType": "https://in-toto.io/attestation/test-result/v0.1",
		"subject": []any{
			map[string]any{"name": name, "digest": map[string]string{"sha256": digest}, "annotations": map[string]string{"version": rel.Version}},
			map[string]any{"name": "git+https://git.example.com/demo/shop", "digest": map[string]string{"gitCommit": rel.Commit}},
		},
		"predicate": map[string]any{
			"result":        "PASSED",
			"passedTests":   []string{"uat: browse products", "uat: cart and checkout"},
			"failedTests":   []string{},
			"warnedTests":   []string{},
			"configuration": []any{},
			"url":           "https://ci.example.com/demo/shop/-/pipelines/1",
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		s.t.Fatal(err)
	}
	dir := filepath.Join(s.dir, "uat")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "approval.json"), b, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// result is one gatekeeper run.
type result struct {
	stdout, stderr string
	code           int
}

// gatekeeper runs the gatekeeper binary in the runbook's directory with the stack's secrets
// in its environment (the database DSN and the webhook URLs).
func (s *stack) gatekeeper(args ...string) result {
	s.t.Helper()
	cmd := exec.Command(s.bins.gatekeeper, args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), s.env()...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	began := time.Now()
	err := cmd.Run()
	if d := time.Since(began); d > 2*time.Second && args[0] != "launch" {
		s.t.Logf("gatekeeper %s took %s", args[0], d.Round(100*time.Millisecond))
	}
	res := result{stdout: out.String(), stderr: errb.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			s.t.Fatalf("gatekeeper %s: %v", strings.Join(args, " "), err)
		}
		res.code = ee.ExitCode()
	}
	return res
}

// env is what the stack puts into gatekeeper's environment.
func (s *stack) env() []string {
	return []string{
		"DEMO_SHOP_DB_DSN=" + s.dsn,
		"DEMO_SLACK_WEBHOOK_URL=" + s.slack.HookURL(),
		"DEMO_STATUS_WEBHOOK_URL=" + s.status.HookURL(),
	}
}

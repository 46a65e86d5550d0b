package manifests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	rollouts "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	flagger "github.com/fluxcd/flagger/pkg/apis/flagger/v1beta1"
	flaggerctl "github.com/fluxcd/flagger/pkg/controller"
	corev1 "k8s.io/api/core/v1"
)

// buildDir holds the gatekeeper binary the tests build from this checkout.
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatekeeper-examples-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var gatekeeperBuild struct {
	once sync.Once
	path string
	err  error
}

// gatekeeperBinary builds cmd/gatekeeper of this checkout once per test run.
func gatekeeperBinary(t *testing.T) string {
	t.Helper()
	gatekeeperBuild.once.Do(func() {
		path := filepath.Join(buildDir, "gatekeeper")
		cmd := exec.Command("go", "build", "-o", path, "./cmd/gatekeeper")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			gatekeeperBuild.err = fmt.Errorf("go build ./cmd/gatekeeper: %v\n%s", err, out)
			return
		}
		gatekeeperBuild.path = path
	})
	if gatekeeperBuild.err != nil {
		t.Fatal(gatekeeperBuild.err)
	}
	return gatekeeperBuild.path
}

// testToken stands in for the gatekeeper-token Secret.
const testToken = "example-token-3f9a1c7e5b2d4a6f8e0c1b3d5f7a9e2c"

// loopbackRunbook writes the example runbook as shop.yaml into dir with every URL turned to a
// closed port on 127.0.0.1, and signs it again: live collection then fails fast, on this
// machine only, instead of reaching the example's hosts.
func loopbackRunbook(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, exampleRunbook))
	if err != nil {
		t.Fatal(err)
	}
	src := regexp.MustCompile(`https?://[A-Za-z0-9.-]+(:[0-9]+)?`).ReplaceAllString(string(b), "http://127.0.0.1:1")
	path := filepath.Join(dir, "shop.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(gatekeeperBinary(t), "vet", "--print-digest", path).Output()
	if err != nil {
		t.Fatalf("vet --print-digest: %v", err)
	}
	digestLine := regexp.MustCompile(`(?m)^  digest: "sha256:[0-9a-f]+"$`)
	if !digestLine.MatchString(src) {
		t.Fatal("the example runbook has no signoff.digest line")
	}
	src = digestLine.ReplaceAllString(src, `  digest: "`+strings.TrimSpace(string(out))+`"`)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gatekeeperBinary(t), "vet", path).CombinedOutput(); err != nil {
		t.Fatalf("vet %s: %v\n%s", path, err, out)
	}
	return path
}

// serveProc is a running `gatekeeper serve` started from the Deployment of serve.yaml.
type serveProc struct {
	addr     string
	cmd      *exec.Cmd
	stderr   *syncBuffer
	done     chan error
	grace    time.Duration
	stopOnce sync.Once
}

// signal sends SIGTERM, as the kubelet does when the pod is deleted.
func (p *serveProc) signal(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// stop sends SIGTERM and requires serve to exit cleanly within the pod's termination grace
// period, without the token in its log. It runs once; later calls do nothing.
func (p *serveProc) stop(t *testing.T) {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("serve exited with %v after SIGTERM\n%s", err, p.stderr)
			}
		case <-time.After(p.grace):
			_ = p.cmd.Process.Kill()
			t.Errorf("serve did not stop within the termination grace period %s", p.grace)
		}
		if strings.Contains(p.stderr.String(), testToken) {
			t.Errorf("the token reached serve's log:\n%s", p.stderr)
		}
	})
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs the Deployment's container as a process: its exact arguments, with the
// listen address moved to a free loopback port and the volume paths to runbookDir and a
// temporary archive; its environment, with the Secret's token and the memory limit resolved
// as the kubelet resolves them. It waits for the readiness probe, and at cleanup stops the
// server as the kubelet does (SIGTERM) and requires it to exit cleanly within the pod's
// termination grace period.
func startServe(t *testing.T, runbookDir string) *serveProc {
	t.Helper()
	dep, _, _ := serveObjects(t)
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	archive := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var args []string
	for _, a := range c.Args {
		switch {
		case strings.HasPrefix(a, "--addr="):
			a = "--addr=" + addr
		case strings.HasPrefix(a, "--runbook="+mounts["runbooks"]+"/"):
			a = "--runbook=" + filepath.Join(runbookDir, strings.TrimPrefix(a, "--runbook="+mounts["runbooks"]+"/"))
		case a == "--archive="+mounts["archive"]:
			a = "--archive=" + archive
		}
		args = append(args, a)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			env = append(env, e.Name+"="+testToken)
		case e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil:
			q := c.Resources.Limits[corev1.ResourceName(strings.TrimPrefix(e.ValueFrom.ResourceFieldRef.Resource, "limits."))]
			env = append(env, e.Name+"="+strconv.FormatInt(q.Value(), 10))
		default:
			env = append(env, e.Name+"="+e.Value)
		}
	}
	cmd := exec.Command(gatekeeperBinary(t), args...)
	cmd.Env = env
	p := &serveProc{addr: addr, cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.stderr, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	p.grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	t.Cleanup(func() { p.stop(t) })
	ready := c.ReadinessProbe.HTTPGet.Path
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("serve %s exited before it was ready: %v\n%s", strings.Join(args, " "), err, p.stderr)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready on %s within 60s\n%s", ready, p.stderr)
		}
	}
}

// TestServeDeployment runs the Deployment's container and checks its probes and /metrics
// where serve.yaml points them.
func TestServeDeployment(t *testing.T) {
	t.Parallel() // each runs its own server; their SIGTERM drains overlap
	dir := t.TempDir()
	loopbackRunbook(t, dir)
	p := startServe(t, dir)
	dep, _, _ := serveObjects(t)
	c := dep.Spec.Template.Spec.Containers[0]
	for _, path := range []string{c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path, dep.Spec.Template.Annotations["prometheus.io/path"]} {
		resp, err := http.Get("http://" + p.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s\n%s", path, resp.Status, body)
		}
		if path == "/metrics" && !bytes.Contains(body, []byte("# TYPE ")) {
			t.Errorf("GET /metrics is not Prometheus text:\n%.300s", body)
		}
	}
	// Pod deletion: during --drain-delay the readiness probe fails (the Service stops routing)
	// while the liveness probe still passes (the kubelet must not kill the pod meanwhile).
	p.signal(t)
	time.Sleep(500 * time.Millisecond)
	for path, want := range map[string]int{c.ReadinessProbe.HTTPGet.Path: http.StatusServiceUnavailable, c.LivenessProbe.HTTPGet.Path: http.StatusOK} {
		resp, err := http.Get("http://" + p.addr + path)
		if err != nil {
			t.Fatalf("GET %s while draining: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s while draining: %s, want %d", path, resp.Status, want)
		}
	}
	p.stop(t)
}

// TestServeAsArgoAsks takes each analysis step's measurement exactly as the manifests make
// Argo ask (no facts: gatekeeper collects live, here from sources that refuse connections)
// with Argo's web metric provider against the real serve: every source down is a hold, which
// Argo must see as Inconclusive, never Successful; a wrong token must be an Error.
func TestServeAsArgoAsks(t *testing.T) {
	t.Parallel() // each runs its own server; their SIGTERM drains overlap
	dir := t.TempDir()
	loopbackRunbook(t, dir)
	p := startServe(t, dir)
	ro, templates := argoObjects(t)
	steps := analysisSteps(ro)
	for _, name := range []string{"gatekeeper-canary-bake-5", "gatekeeper-canary-5", "gatekeeper-window"} {
		t.Run(name, func(t *testing.T) {
			run := analysisRun(t, ro, templates, steps[name], map[string]string{"gatekeeper-token/token": testToken})
			m := measure(t, run, p.addr, nil)
			var rec struct {
				Decision string `json:"decision"`
				Gate     string `json:"gate"`
			}
			if err := json.Unmarshal([]byte(m.Value), &rec); err != nil {
				t.Fatalf("measurement %s: value %q is not a decision record (%s)", m.Phase, m.Value, m.Message)
			}
			if m.Phase != rollouts.AnalysisPhaseInconclusive || rec.Decision != "no-go" {
				t.Errorf("decision %s at %s: measurement %s, want a hold (no-go) measured Inconclusive", rec.Decision, rec.Gate, m.Phase)
			}
		})
	}
	t.Run("wrong token", func(t *testing.T) {
		run := analysisRun(t, ro, templates, steps["gatekeeper-canary-5"], map[string]string{"gatekeeper-token/token": "not-the-token-0123456789"})
		if m := measure(t, run, p.addr, nil); m.Phase != rollouts.AnalysisPhaseError || !strings.Contains(m.Message, "401") {
			t.Errorf("measurement %s (%s), want an Error for 401", m.Phase, m.Message)
		}
	})
}

// scenarioInput reads the launch coordinates and facts of an example scenario, as a pipeline
// that collected them itself posts them.
func scenarioInput(t *testing.T, scenario string) map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "testdata/example/scenarios", scenario+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	out := map[string]json.RawMessage{}
	for _, k := range []string{"now", "cutover_at", "step_started_at", "facts"} {
		if v, ok := in[k]; ok {
			out[k] = v
		}
	}
	return out
}

// withInput adds a scenario's coordinates and facts to the body Argo resolved from the
// template, and names a launch of its own so that no other decision is its history.
func withInput(t *testing.T, in map[string]json.RawMessage, launchID string) func(*rollouts.Metric) {
	return func(m *rollouts.Metric) {
		var body map[string]json.RawMessage
		if err := json.Unmarshal([]byte(m.Provider.Web.Body), &body); err != nil {
			t.Fatalf("resolved body %s: %v", m.Provider.Web.Body, err)
		}
		for k, v := range in {
			body[k] = v
		}
		body["launch_id"], _ = json.Marshal(launchID)
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		m.Provider.Web.Body = string(b)
	}
}

// TestServeAgreesWithEvaluateAsArgoAsks: the same gate decision from a CI step and from
// serve as Argo Rollouts calls it. Each example scenario is posted through the manifests'
// metrics (Argo's argument resolution and web provider) with its facts in the body to the real
// serve running the example runbook; the measurement must follow the decision, and the
// decision, its checks and its digests must equal what `gatekeeper evaluate --facts` (the
// pipeline step of examples/github-actions) decides on the same scenario.
func TestServeAgreesWithEvaluateAsArgoAsks(t *testing.T) {
	t.Parallel() // each runs its own server; their SIGTERM drains overlap
	dir := t.TempDir()
	for _, f := range []string{filepath.Base(exampleRunbook), "uat/approval.json"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, filepath.Dir(exampleRunbook), f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, strings.Replace(f, "runbook.yaml", "shop.yaml", 1)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := startServe(t, dir)
	ro, templates := argoObjects(t)
	steps := analysisSteps(ro)
	for _, tc := range []struct {
		analysis, scenario string
		want               rollouts.AnalysisPhase
	}{
		{"gatekeeper-canary-bake-5", "healthy__canary-5", rollouts.AnalysisPhaseSuccessful},
		{"gatekeeper-canary-bake-5", "zero-traffic__canary-5", rollouts.AnalysisPhaseInconclusive},
		{"gatekeeper-canary-5", "stale-facts__canary-5", rollouts.AnalysisPhaseInconclusive},
		{"gatekeeper-canary-25", "healthy__canary-25", rollouts.AnalysisPhaseSuccessful},
		{"gatekeeper-canary-bake-25", "sustained-errors__canary-25", rollouts.AnalysisPhaseFailed},
		{"gatekeeper-canary-25", "sustained-errors__canary-25", rollouts.AnalysisPhaseFailed},
		{"gatekeeper-canary-100", "healthy__canary-100", rollouts.AnalysisPhaseSuccessful},
		{"gatekeeper-window", "healthy__window", rollouts.AnalysisPhaseSuccessful},
		{"gatekeeper-window", "short-spike__window", rollouts.AnalysisPhaseInconclusive},
		{"gatekeeper-window", "preexisting-violations__window", rollouts.AnalysisPhaseInconclusive},
		{"gatekeeper-window", "missing-metrics__window", rollouts.AnalysisPhaseInconclusive},
		{"gatekeeper-window", "no-prometheus__window", rollouts.AnalysisPhaseInconclusive},
		{"gatekeeper-window", "integration-down__window", rollouts.AnalysisPhaseFailed},
		{"gatekeeper-window", "latency-regression__window", rollouts.AnalysisPhaseFailed},
		{"gatekeeper-window", "new-corruption__window", rollouts.AnalysisPhaseFailed},
		{"gatekeeper-window", "unknown-too-long__window", rollouts.AnalysisPhaseFailed},
	} {
		t.Run(tc.analysis+"/"+tc.scenario, func(t *testing.T) {
			run := analysisRun(t, ro, templates, steps[tc.analysis], map[string]string{"gatekeeper-token/token": testToken})
			m := measure(t, run, p.addr, withInput(t, scenarioInput(t, tc.scenario), "agree-"+strings.ReplaceAll(tc.scenario, "_", "-")))
			got, want := decisionOf(t, []byte(m.Value)), decisionOf(t, evaluateScenario(t, tc.scenario))
			for _, k := range sortedKeys(want) {
				if !reflect.DeepEqual(got[k], want[k]) {
					g, _ := json.Marshal(got[k])
					w, _ := json.Marshal(want[k])
					t.Errorf("%s: serve decided %.400s\nevaluate decided %.400s", k, g, w)
				}
			}
			if m.Phase != tc.want {
				t.Errorf("decision %s: measurement %s (%s), want %s", want["decision"], m.Phase, m.Message, tc.want)
			}
		})
	}
}

// evaluateScenario decides an example scenario as a pipeline step does.
func evaluateScenario(t *testing.T, scenario string) []byte {
	t.Helper()
	var in struct {
		Gate string `json:"gate"`
		Step *int   `json:"step"`
	}
	path := filepath.Join("testdata/example/scenarios", scenario+".json")
	b, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	args := []string{"evaluate", "--runbook", exampleRunbook, "--env", "production", "--gate", in.Gate, "--facts", path, "-o", "json"}
	if in.Step != nil {
		args = append(args, "--step", strconv.Itoa(*in.Step))
	}
	cmd := exec.Command(gatekeeperBinary(t), args...)
	cmd.Dir = repoRoot
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if code := cmd.ProcessState.ExitCode(); code != 0 && code != 2 && code != 3 {
		t.Fatalf("gatekeeper %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// decisionOf is the part of a record that is the decision: what was decided and why.
func decisionOf(t *testing.T, rec []byte) map[string]any {
	t.Helper()
	var all map[string]any
	if err := json.Unmarshal(rec, &all); err != nil {
		t.Fatalf("not a decision record: %v\n%.300s", err, rec)
	}
	out := map[string]any{}
	for _, k := range []string{"gate", "step", "environment", "decision", "complete", "checks", "warnings", "now", "runbook_digest", "policies_digest"} {
		out[k] = all[k]
	}
	return out
}

// TestServeAsFlaggerAsks calls each webhook of the Canary with Flagger's own webhook code
// against the real serve, the token substituted as the manifest says. With every source
// down nothing may let Flagger proceed and the rollback hook may not roll back: each answer
// must be a refusal (Flagger sees an error) whose body is a decision, not a request error.
func TestServeAsFlaggerAsks(t *testing.T) {
	t.Parallel() // each runs its own server; their SIGTERM drains overlap
	dir := t.TempDir()
	loopbackRunbook(t, dir)
	p := startServe(t, dir)
	c := flaggerCanary(t)
	substituteToken(c, testToken)
	for _, w := range c.Spec.Analysis.Webhooks {
		t.Run(string(w.Type), func(t *testing.T) {
			w.URL = redirect(t, w.URL, "http://"+p.addr)
			err := flaggerctl.CallWebhook(*c, flagger.CanaryPhaseProgressing, w)
			if err == nil {
				t.Fatalf("%s answered 2xx with every source down", w.Type)
			}
			var rec struct {
				Gate     string `json:"gate"`
				Decision string `json:"decision"`
			}
			if jerr := json.Unmarshal([]byte(err.Error()), &rec); jerr != nil || rec.Decision == "" {
				t.Fatalf("%s: the refusal is not a decision record: %v", w.Type, err)
			}
			// The rollback hook decides the canary at the launch's current step, or the window
			// while gatekeeper's record of the launch holds no step yet (docs/serve.md).
			gateOK := rec.Gate == flaggerHooks[w.Type] || w.Type == flagger.RollbackHook && rec.Gate == "window"
			if !gateOK || rec.Decision != "no-go" {
				t.Errorf("%s decided %s at %s, want no-go at %s", w.Type, rec.Decision, rec.Gate, flaggerHooks[w.Type])
			}
		})
	}
	t.Run("wrong token", func(t *testing.T) {
		bad := c.DeepCopy()
		substituteToken(bad, "x")
		w := bad.Spec.Analysis.Webhooks[0]
		md := map[string]string{}
		for k, v := range *w.Metadata {
			md[k] = v
		}
		md["token"] = "not-the-token-0123456789"
		w.Metadata = &md
		w.URL = redirect(t, w.URL, "http://"+p.addr)
		if err := flaggerctl.CallWebhook(*bad, flagger.CanaryPhaseProgressing, w); err == nil || !strings.Contains(err.Error(), "token") {
			t.Errorf("wrong token: %v, want a refusal naming the token", err)
		}
	})
}

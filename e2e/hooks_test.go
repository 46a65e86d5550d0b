package e2e

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runHook runs a hook script the way gatekeeper launch does: argv from the runbook, in the
// runbook's directory, with the GATEKEEPER_* variables of the release.
func (s *stack) runHook(name string, rel, rollback release, step int) (string, error) {
	s.t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "hooks", name+".sh"))
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(script, s.state)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(),
		"GATEKEEPER_RELEASE_VERSION="+rel.Version, "GATEKEEPER_RELEASE_COMMIT="+rel.Commit, "GATEKEEPER_RELEASE_IMAGE="+rel.Image,
		"GATEKEEPER_ROLLBACK_VERSION="+rollback.Version, "GATEKEEPER_ROLLBACK_COMMIT="+rollback.Commit, "GATEKEEPER_ROLLBACK_IMAGE="+rollback.Image,
		fmt.Sprintf("GATEKEEPER_STEP=%d", step), "GATEKEEPER_ENV=staging")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v: %s", url, err, b)
	}
}

// junitReport is the part of pytest's JUnit XML the test reads.
type junitReport struct {
	Suites []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Cases    []struct {
			Name string `xml:"name,attr"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestHooks drives the hook scripts by hand through a faulty launch: deploy puts the release
// on the canary slot, smoke writes pytest's JUnit report (and passes: the fault shows only
// under load), shift moves traffic, rollback restores the target on every slot with the
// traffic on stable. Then gatekeeper's post-smoke and post-rollback gates read the result.
func TestHooks(t *testing.T) {
	requireRealParts(t)
	s := newStack(t, "1.0.0")
	rel, target := s.release("1.1.1"), s.release("1.0.0")
	rb := s.writeRunbook(rel.Version, target.Version, timing{Bake: "10m", Window: "30m", Interval: "2s", MaxUnknown: "5m", AnnounceLead: "1m"})
	cutover := time.Now().UTC().Format(time.RFC3339Nano)

	// The plan names the hooks and the steps, and runs nothing: the canary slot stays empty.
	res := s.gatekeeper("launch", "--runbook", rb, "--env", "staging", "--archive", filepath.Join(s.dir, "dry"), "--dry-run")
	t.Logf("dry run:\n%s", res.stdout)
	if res.code != 0 || !strings.Contains(res.stdout, "deploy.sh") || !strings.Contains(res.stdout, "25%") {
		t.Errorf("launch --dry-run: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if _, err := http.Get("http://" + s.canaryAddr + "/version"); err == nil {
		t.Error("the dry run started the canary")
	}

	if out, err := s.runHook("deploy", rel, target, 0); err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	var v map[string]string
	getJSON(t, "http://"+s.canaryAddr+"/version", &v)
	if v["commit"] != rel.Commit || v["track"] != "canary" {
		t.Fatalf("after deploy the canary slot serves %v, want %s", v, rel.Commit)
	}

	// A second deploy replaces the instance rather than failing on the occupied slot.
	if out, err := s.runHook("deploy", rel, target, 0); err != nil {
		t.Fatalf("second deploy: %v\n%s", err, out)
	}

	start := time.Now()
	out, err := s.runHook("smoke", rel, target, 0)
	if err != nil {
		t.Fatalf("smoke: %v\n%s", err, out)
	}
	t.Logf("smoke hook took %s", time.Since(start).Round(time.Millisecond))
	b, err := os.ReadFile(filepath.Join(s.dir, "reports", "smoke-junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var rep junitReport
	if err := xml.Unmarshal(b, &rep); err != nil {
		t.Fatalf("pytest's report: %v\n%s", err, b)
	}
	if len(rep.Suites) != 1 || rep.Suites[0].Name != "shop-smoke" || rep.Suites[0].Tests != 4 || rep.Suites[0].Failures+rep.Suites[0].Errors != 0 {
		t.Fatalf("pytest's report: %+v", rep)
	}

	res = s.gatekeeper("evaluate", "--runbook", rb, "--env", "staging", "--gate", "post-smoke", "--cutover-at", cutover, "-o", "json")
	var ps record
	if err := json.Unmarshal([]byte(res.stdout), &ps); err != nil {
		t.Fatalf("post-smoke: exit %d: %v\n%s", res.code, err, res.stderr)
	}
	for _, rule := range []string{"post_smoke.critical_steps", "post_smoke.budget", "post_smoke.integrations"} {
		if outcome, _, msg, _ := ps.check(t, rule); outcome != "go" {
			t.Errorf("%s: %s (%s)", rule, outcome, msg)
		}
	}

	for _, step := range []int{25, 100} {
		if out, err := s.runHook("shift", rel, target, step); err != nil || !strings.Contains(out, fmt.Sprintf("canary weight %d%%", step)) {
			t.Fatalf("shift %d: %v\n%s", step, err, out)
		}
	}
	var w map[string]int
	getJSON(t, "http://"+s.routerAddr+"/-/weight", &w)
	if w["canary"] != 100 {
		t.Fatalf("router weight %v after shift 100", w)
	}

	if out, err := s.runHook("rollback", rel, target, 100); err != nil {
		t.Fatalf("rollback: %v\n%s", err, out)
	}
	getJSON(t, "http://"+s.routerAddr+"/-/weight", &w)
	getJSON(t, "http://"+s.canaryAddr+"/version", &v)
	if w["canary"] != 0 || v["commit"] != target.Commit {
		t.Fatalf("after rollback: weight %v, canary slot %v; want 0 and %s", w, v, target.Version)
	}
	res = s.gatekeeper("evaluate", "--runbook", rb, "--env", "staging", "--gate", "post-rollback", "--cutover-at", cutover, "-o", "json")
	var pr record
	if err := json.Unmarshal([]byte(res.stdout), &pr); err != nil {
		t.Fatalf("post-rollback: exit %d: %v\n%s", res.code, err, res.stderr)
	}
	if pr.Decision != "go" || res.code != 0 {
		t.Errorf("post-rollback after the rollback hook: exit %d\n%s", res.code, pr.summary())
	}
}

package manifests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// actionlintBinary finds actionlint: $ACTIONLINT, then PATH, then GOBIN/GOPATH/bin (where
// `go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12` puts it).
func actionlintBinary() string {
	if p := os.Getenv("ACTIONLINT"); p != "" {
		return p
	}
	if p, err := exec.LookPath("actionlint"); err == nil {
		return p
	}
	for _, env := range []string{"GOBIN", "GOPATH"} {
		out, err := exec.Command("go", "env", env).Output()
		if err != nil || strings.TrimSpace(string(out)) == "" {
			continue
		}
		dir := strings.TrimSpace(string(out))
		if env == "GOPATH" {
			dir = filepath.Join(strings.Split(dir, string(os.PathListSeparator))[0], "bin")
		}
		if p := filepath.Join(dir, "actionlint"); fileExists(p) {
			return p
		}
	}
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestGitHubWorkflowActionlint runs actionlint (with shellcheck on every run: script when
// shellcheck is installed) on the workflow, and on a copy with one misspelt key to show
// that it would catch one.
func TestGitHubWorkflowActionlint(t *testing.T) {
	bin := actionlintBinary()
	if bin == "" {
		t.Skip("actionlint is not installed: go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12")
	}
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Log("shellcheck is not installed (apt-get install shellcheck): actionlint checks the workflow but not its scripts")
	}
	config := filepath.Join(examplesDir, "github-actions/actionlint.yaml")
	workflow := filepath.Join(examplesDir, "github-actions/launch.yml")
	if out, err := exec.Command(bin, "-config-file", config, workflow).CombinedOutput(); err != nil {
		t.Fatalf("actionlint %s: %v\n%s", workflow, err, out)
	}
	b, err := os.ReadFile(workflow)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ from, to, want string }{
		{"    runs-on: ubuntu-latest", "    run-on: ubuntu-latest", `unexpected key "run-on"`},
		{"retention-days: 90", "retention-day: 90", `input "retention-day" is not defined`},
		{"if: failure() && env.ROLLBACK == 'true'", "if: failure() && steps.nosuch.outputs.exit == '3'", `property "nosuch" is not defined`},
	} {
		bad := strings.Replace(string(b), tc.from, tc.to, 1)
		if bad == string(b) {
			t.Fatalf("%q not in the workflow", tc.from)
		}
		path := filepath.Join(t.TempDir(), "launch.yml")
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "-config-file", config, path).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("actionlint on %q: %v\n%s\nwant an error containing %q", tc.to, err, out, tc.want)
		}
	}
}

// gitlabJob is one job of .gitlab-ci.yml: every keyword of GitLab's CI/CD YAML syntax
// reference (doc/ci/yaml/index.md in gitlab-org/gitlab), so that a misspelt keyword is an
// unknown field. The ones the example uses are typed; the others are only known.
type gitlabJob struct {
	Script       stringList        `json:"script"`
	BeforeScript *stringList       `json:"before_script"`
	AfterScript  stringList        `json:"after_script"`
	Stage        string            `json:"stage"`
	Extends      stringList        `json:"extends"`
	Image        any               `json:"image"`
	Variables    map[string]string `json:"variables"`
	Rules        []map[string]any  `json:"rules"`
	Tags         []string          `json:"tags"`
	AllowFailure any               `json:"allow_failure"`
	When         string            `json:"when"`
	Environment  *struct {
		Name string `json:"name"`
	} `json:"environment"`
	Artifacts *struct {
		When     string   `json:"when"`
		ExpireIn string   `json:"expire_in"`
		ExposeAs string   `json:"expose_as"`
		Paths    []string `json:"paths"`
		Reports  *struct {
			JUnit  stringList `json:"junit"`
			Dotenv stringList `json:"dotenv"`
		} `json:"reports"`
	} `json:"artifacts"`
	Dependencies  *[]string `json:"dependencies"`
	Needs         []any     `json:"needs"`
	Timeout       string    `json:"timeout"`
	ResourceGroup string    `json:"resource_group"`

	Services, Only, Except, Cache, Retry, Parallel, Trigger, Interruptible, Coverage, Release,
	Secrets, IDTokens, Inherit, StartIn, ManualConfirmation, Hooks, Pages, Identity,
	DastConfiguration, Run any
}

// The remaining keywords, by their YAML names.
func (j *gitlabJob) UnmarshalJSON(b []byte) error {
	type plain gitlabJob
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	for _, k := range []string{"services", "only", "except", "cache", "retry", "parallel", "trigger", "interruptible",
		"coverage", "release", "secrets", "id_tokens", "inherit", "start_in", "manual_confirmation", "hooks", "pages",
		"identity", "dast_configuration", "run"} {
		delete(raw, k)
	}
	rest, _ := json.Marshal(raw)
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	return dec.Decode((*plain)(j))
}

// stringList is a YAML string or list of strings.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// gitlabPipeline is a parsed .gitlab-ci.yml with every job's `extends` and `default` applied.
type gitlabPipeline struct {
	stages    []string
	variables map[string]string
	jobs      map[string]*gitlabJob
	order     []string // jobs in file order
}

var gitlabGlobalKeys = map[string]bool{"workflow": true, "stages": true, "variables": true, "default": true, "include": true}

// loadGitLab parses src as GitLab does for what the example uses: top-level keywords, hidden
// jobs (".name") merged into jobs by `extends` (hashes merged deeply, everything else
// replaced), `default` filling what a job leaves unset; then it checks the structure.
func loadGitLab(src []byte) (*gitlabPipeline, error) {
	j, err := yaml.YAMLToJSONStrict(src)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := json.Unmarshal(j, &raw); err != nil {
		return nil, err
	}
	p := &gitlabPipeline{jobs: map[string]*gitlabJob{}, variables: map[string]string{}}
	if err := remarshal(raw["stages"], &p.stages); err != nil || len(p.stages) == 0 {
		return nil, fmt.Errorf("stages: want a list of stage names (%v)", err)
	}
	if err := remarshal(raw["variables"], &p.variables); err != nil {
		return nil, fmt.Errorf("variables: %w", err)
	}
	var resolve func(name string, seen map[string]bool) (map[string]any, error)
	resolve = func(name string, seen map[string]bool) (map[string]any, error) {
		if seen[name] {
			return nil, fmt.Errorf("%s: extends loops", name)
		}
		seen[name] = true
		def, ok := raw[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("extends: no job %q", name)
		}
		var parents stringList
		if err := remarshal(def["extends"], &parents); err != nil {
			return nil, fmt.Errorf("%s: extends: %w", name, err)
		}
		merged := map[string]any{}
		for _, parent := range parents {
			pm, err := resolve(parent, seen)
			if err != nil {
				return nil, err
			}
			merged = deepMerge(merged, pm)
		}
		return deepMerge(merged, def), nil
	}
	defaults, _ := raw["default"].(map[string]any)
	// Top-level keys in file order (a Go map has none).
	for _, m := range regexp.MustCompile(`(?m)^([A-Za-z0-9_.-]+):`).FindAllSubmatch(src, -1) {
		name := string(m[1])
		if gitlabGlobalKeys[name] || strings.HasPrefix(name, ".") {
			continue
		}
		def, err := resolve(name, map[string]bool{})
		if err != nil {
			return nil, err
		}
		delete(def, "extends")
		for k, v := range defaults {
			if _, set := def[k]; !set {
				def[k] = v
			}
		}
		var job gitlabJob
		if err := remarshal(def, &job); err != nil {
			return nil, fmt.Errorf("job %s: %w", name, err)
		}
		p.jobs[name] = &job
		p.order = append(p.order, name)
	}
	return p, p.check()
}

// check is what GitLab's pipeline editor refuses: jobs without a script or in an unknown
// stage, dependencies and needs on jobs that do not exist or run later, unknown `when`s.
func (p *gitlabPipeline) check() error {
	stageIndex := map[string]int{}
	for i, s := range p.stages {
		stageIndex[s] = i
	}
	whens := map[string]bool{"": true, "on_success": true, "on_failure": true, "always": true, "manual": true, "never": true, "delayed": true}
	for _, name := range p.order {
		job := p.jobs[name]
		si, ok := stageIndex[job.Stage]
		switch {
		case job.Stage == "":
			return fmt.Errorf("job %s: no stage (GitLab's default, test, is not in stages)", name)
		case !ok:
			return fmt.Errorf("job %s: stage %q is not in stages %v", name, job.Stage, p.stages)
		case len(job.Script) == 0:
			return fmt.Errorf("job %s: no script", name)
		case !whens[job.When]:
			return fmt.Errorf("job %s: when %q", name, job.When)
		case job.Artifacts != nil && !whens[job.Artifacts.When]:
			return fmt.Errorf("job %s: artifacts:when %q", name, job.Artifacts.When)
		}
		var deps []string
		if job.Dependencies != nil {
			deps = append(deps, *job.Dependencies...)
		}
		for _, n := range job.Needs {
			if s, ok := n.(string); ok {
				deps = append(deps, s)
			}
		}
		for _, d := range deps {
			dj, ok := p.jobs[d]
			if !ok {
				return fmt.Errorf("job %s: depends on %q, which is not a job", name, d)
			}
			if stageIndex[dj.Stage] >= si {
				return fmt.Errorf("job %s: depends on %s, which does not run in an earlier stage", name, d)
			}
		}
	}
	return nil
}

func remarshal(in, out any) error {
	if in == nil {
		return nil
	}
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func deepMerge(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = deepMerge(bm, om)
			continue
		}
		out[k] = v
	}
	return out
}

func readGitLab(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examplesDir, "gitlab-ci/.gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGitLabPipelineStructure checks .gitlab-ci.yml's structure (what GitLab's own schema
// and pipeline editor would refuse, for the keywords the example uses), shellchecks each
// job's scripts, and shows on mutated copies that a misspelt keyword or a dangling
// dependency is refused. Not checked here: GitLab's full JSON schema, rules expressions,
// and anything a runner decides at run time (images, tags).
func TestGitLabPipelineStructure(t *testing.T) {
	src := readGitLab(t)
	p, err := loadGitLab(src)
	if err != nil {
		t.Fatal(err)
	}
	gates := 0
	for _, name := range p.order {
		job := p.jobs[name]
		if strings.Contains(strings.Join(job.Script, "\n"), "gate ") {
			gates++
			if job.Artifacts == nil || job.Artifacts.When != "always" || !containsPrefix(job.Artifacts.Paths, "archive/") {
				t.Errorf("job %s decides a gate but does not hand the archive on whatever the outcome", name)
			}
		}
	}
	if gates < 7 {
		t.Errorf("%d jobs decide a gate, want one per gate of the runbook", gates)
	}
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Log("shellcheck is not installed (apt-get install shellcheck): job scripts not checked")
	} else {
		for _, name := range p.order {
			job := p.jobs[name]
			script := "#!/bin/bash\n"
			for _, l := range append(append(append([]string{}, derefList(job.BeforeScript)...), job.Script...), job.AfterScript...) {
				script += l + "\n"
			}
			path := filepath.Join(t.TempDir(), name+".sh")
			if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			// SC1091: launch.env only exists at run time.
			if out, err := exec.Command("shellcheck", "-S", "warning", "-e", "SC1091", path).CombinedOutput(); err != nil {
				t.Errorf("job %s: shellcheck: %v\n%s", name, err, out)
			}
		}
	}
	for _, tc := range []struct{ from, to, want string }{
		{"  dependencies: [canary-25]", "  dependecies: [canary-25]", `unknown field "dependecies"`},
		{"  dependencies: [canary-25]", "  dependencies: [canary-250]", `"canary-250", which is not a job`},
		{"  dependencies: [post-deploy]", "  dependencies: [post-smoke]", "does not run in an earlier stage"},
		{"  stage: window", "  stage: monitoring-window", `stage "monitoring-window" is not in stages`},
		{"    expire_in: 1 year", "    expires_in: 1 year", `unknown field "expires_in"`},
		{"  when: manual", "  when: manually", `when "manually"`},
	} {
		bad := strings.Replace(string(src), tc.from, tc.to, 1)
		if bad == string(src) {
			t.Fatalf("%q not in .gitlab-ci.yml", tc.from)
		}
		if _, err := loadGitLab([]byte(bad)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("with %q: %v, want an error containing %q", tc.to, err, tc.want)
		}
	}
}

func derefList(l *stringList) []string {
	if l == nil {
		return nil
	}
	return *l
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// launchWorld is a workspace where a pipeline's scripts run for real with stand-ins for the
// world around them: gatekeeper is the real binary of this checkout, but evaluate decides from
// an example scenario's facts file for each gate (after checking that the pipeline's own
// command line parses) instead of collecting live; the deploy hooks, npx, go install and
// sleep only record that they ran.
type launchWorld struct {
	dir, bin, log string
	env           []string
}

func newLaunchWorld(t *testing.T, scenarios map[string]string) *launchWorld {
	t.Helper()
	// The stand-ins live in GOPATH/bin, where the pipelines' `go install` would put gatekeeper.
	gopath := t.TempDir()
	w := &launchWorld{dir: t.TempDir(), bin: filepath.Join(gopath, "bin")}
	w.log = filepath.Join(w.bin, "calls.log")
	for _, f := range []string{"runbook.yaml", "uat/approval.json"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, "testdata/example", f))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(w.dir, "launch", f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	scenariosDir, err := filepath.Abs(filepath.Join(repoRoot, "testdata/example/scenarios"))
	if err != nil {
		t.Fatal(err)
	}
	stub := func(path, body string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("#!/bin/bash\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stub(filepath.Join(w.bin, "gatekeeper"), `real=`+gatekeeperBinary(t)+`
if ! "$real" "$@" --help >/dev/null 2>"$GK_LOG.err"; then
  cat "$GK_LOG.err" >&2; echo "stand-in: gatekeeper $*: the command line does not parse" >&2; exit 1
fi
echo "gatekeeper $*" >> "$GK_LOG"
case "$1" in
  test) exit 0 ;; # the policy tests run in the main module; here only the command line counts
  evaluate)
    args=(); gate=; step=
    while [ $# -gt 0 ]; do
      case "$1" in
        --gate) gate=$2; args+=("$1" "$2"); shift 2 ;;
        --step) step=$2; args+=("$1" "$2"); shift 2 ;;
        --cutover-at|--step-started-at) shift 2 ;; # the scenario's recorded times decide
        *) args+=("$1"); shift ;;
      esac
    done
    key=$gate; if [ -n "$step" ]; then key=$gate-$step; fi
    var=GK_FACTS_${key//-/_}
    if [ -z "${!var}" ]; then echo "stand-in: no scenario for $key" >&2; exit 1; fi
    exec "$real" "${args[@]}" --facts "$GK_SCENARIOS/${!var}.json" ;;
esac
exec "$real" "$@"
`)
	for _, name := range []string{"npx", "sleep"} {
		stub(filepath.Join(w.bin, name), `echo "`+name+` $*" >> "$GK_LOG"`+"\n")
	}
	stub(filepath.Join(w.bin, "go"), `echo "go $*" >> "$GK_LOG"
if [ "$1 $2" = "env GOPATH" ]; then echo "`+gopath+`"; fi
`)
	for _, hook := range []string{"rollout", "shift", "rollback"} {
		stub(filepath.Join(w.dir, "deploy", hook+".sh"), `echo "`+hook+` $*" >> "$GK_LOG"`+"\n")
	}
	w.env = []string{"PATH=" + w.bin + ":/usr/local/bin:/usr/bin:/bin", "HOME=" + w.dir, "GK_LOG=" + w.log, "GK_SCENARIOS=" + scenariosDir, "LANG=C.UTF-8"}
	keys := make([]string, 0, len(scenarios))
	for k := range scenarios {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.env = append(w.env, "GK_FACTS_"+strings.ReplaceAll(k, "-", "_")+"="+scenarios[k])
	}
	return w
}

// calls is what the stand-ins recorded, one line per call.
func (w *launchWorld) calls(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(w.log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// records are the decisions in the launch archive, as "gate[-step]:decision".
func (w *launchWorld) records(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(w.dir, "archive/shop-production/records.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r struct {
			Gate     string `json:"gate"`
			Step     *int   `json:"step"`
			Decision string `json:"decision"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Gate == "" {
			continue // an event, not a decision
		}
		key := r.Gate
		if r.Step != nil {
			key += fmt.Sprintf("-%d", *r.Step)
		}
		out = append(out, key+":"+r.Decision)
	}
	return out
}

// runScript runs a script in the workspace and returns its exit code and output.
func (w *launchWorld) runScript(t *testing.T, shellArgs []string, script string, env []string) (int, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "step.sh")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append(shellArgs, path)...)
	cmd.Dir = w.dir
	cmd.Env = append(append([]string{}, w.env...), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		t.Fatal(err)
	}
	return 0, string(out)
}

var launchScenarios = map[string]map[string]string{
	"healthy": {
		"pre-cutover": "healthy__pre-cutover", "post-deploy": "healthy__post-deploy", "post-smoke": "healthy__post-smoke",
		"canary-5": "healthy__canary-5", "canary-25": "healthy__canary-25", "canary-100": "healthy__canary-100",
		"window": "healthy__window", "post-rollback": "post-rollback-verified__post-rollback",
	},
	"rollback at 25%": {
		"pre-cutover": "healthy__pre-cutover", "post-deploy": "healthy__post-deploy", "post-smoke": "healthy__post-smoke",
		"canary-5": "healthy__canary-5", "canary-25": "sustained-errors__canary-25", "post-rollback": "post-rollback-verified__post-rollback",
	},
	"hold at 5%": {
		"pre-cutover": "healthy__pre-cutover", "post-deploy": "healthy__post-deploy", "post-smoke": "healthy__post-smoke",
		"canary-5": "zero-traffic__canary-5",
	},
}

// wantLaunch is how each scenario must end, whichever pipeline runs it.
var wantLaunch = map[string]struct {
	records  []string
	rollback bool
}{
	"healthy": {records: []string{"pre-cutover:go", "post-deploy:go", "post-smoke:go", "canary-5:go", "canary-25:go", "canary-100:go", "window:go"}},
	"rollback at 25%": {records: []string{"pre-cutover:go", "post-deploy:go", "post-smoke:go", "canary-5:go", "canary-25:rollback", "post-rollback:go"},
		rollback: true},
	"hold at 5%": {records: []string{"pre-cutover:go", "post-deploy:go", "post-smoke:go", "canary-5:no-go"}},
}

func checkLaunch(t *testing.T, w *launchWorld, scenario string) {
	t.Helper()
	want := wantLaunch[scenario]
	if got := w.records(t); strings.Join(got, " ") != strings.Join(want.records, " ") {
		t.Errorf("archived decisions %v, want %v", got, want.records)
	}
	rolledBack := false
	for _, c := range w.calls(t) {
		if strings.HasPrefix(c, "rollback ") {
			rolledBack = true
		}
	}
	if rolledBack != want.rollback {
		t.Errorf("rolled back: %v, want %v (calls: %v)", rolledBack, want.rollback, w.calls(t))
	}
	if !fileExists(filepath.Join(w.dir, "launch-report.html")) {
		t.Error("no launch report")
	}
}

var ghExpr = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

type ghStep struct {
	ID   string            `json:"id"`
	Name string            `json:"name"`
	If   string            `json:"if"`
	Run  string            `json:"run"`
	Uses string            `json:"uses"`
	Env  map[string]string `json:"env"`
	With map[string]any    `json:"with"`
}

type ghWorkflow struct {
	Env  map[string]string `json:"env"`
	Jobs map[string]struct {
		Needs any               `json:"needs"`
		Env   map[string]string `json:"env"`
		Steps []ghStep          `json:"steps"`
	} `json:"jobs"`
	// `on`, which YAML 1.1 (and so sigs.k8s.io/yaml) reads as the boolean true.
	On struct {
		WorkflowDispatch struct {
			Inputs map[string]struct {
				Default string `json:"default"`
			} `json:"inputs"`
		} `json:"workflow_dispatch"`
	} `json:"true"`
}

// runGitHubJob runs one job of the workflow the way a GitHub runner does for what the
// example uses: steps in order, `bash -e` for run:, $GITHUB_ENV and $GITHUB_OUTPUT carried to
// later steps, ${{ }} expressions and `if:` conditions evaluated (a form the runner here does
// not know fails the test), uses: steps skipped except that upload-artifact's paths must exist.
func runGitHubJob(t *testing.T, w *launchWorld, wf *ghWorkflow, jobName string) (failed bool) {
	t.Helper()
	job := wf.Jobs[jobName]
	env := map[string]string{}
	outputs := map[string]map[string]string{}
	expr := func(e string) string {
		switch {
		case strings.HasPrefix(e, "inputs."):
			return wf.On.WorkflowDispatch.Inputs[strings.TrimPrefix(e, "inputs.")].Default
		case strings.HasPrefix(e, "secrets."):
			return ""
		case strings.HasPrefix(e, "steps."):
			parts := strings.Split(e, ".")
			if len(parts) == 4 && parts[2] == "outputs" {
				return outputs[parts[1]][parts[3]]
			}
		}
		t.Fatalf("expression ${{ %s }}: not one this test's runner knows", e)
		return ""
	}
	subst := func(s string) string {
		return ghExpr.ReplaceAllStringFunc(s, func(m string) string { return expr(ghExpr.FindStringSubmatch(m)[1]) })
	}
	for _, layer := range []map[string]string{wf.Env, job.Env} {
		for k, v := range layer {
			env[k] = subst(v)
		}
	}
	cond := func(c string) bool {
		if c == "" {
			return !failed
		}
		result := true
		for _, term := range strings.Split(c, " && ") {
			term = strings.TrimSpace(term)
			var ok bool
			switch {
			case term == "always()":
				ok = true
			case term == "failure()":
				ok = failed
			case term == "success()":
				ok = !failed
			case regexp.MustCompile(`^env\.(\w+) == '([^']*)'$`).MatchString(term):
				m := regexp.MustCompile(`^env\.(\w+) == '([^']*)'$`).FindStringSubmatch(term)
				ok = env[m[1]] == m[2]
			case regexp.MustCompile(`^hashFiles\('([^']+)'\) != ''$`).MatchString(term):
				m := regexp.MustCompile(`^hashFiles\('([^']+)'\) != ''$`).FindStringSubmatch(term)
				ok = fileExists(filepath.Join(w.dir, m[1]))
			default:
				t.Fatalf("if: %s: the term %q is not one this test's runner knows", c, term)
			}
			result = result && ok
		}
		// Without a status function, GitHub adds success().
		if !strings.Contains(c, "()") || !regexp.MustCompile(`always\(\)|failure\(\)|success\(\)`).MatchString(c) {
			result = result && !failed
		}
		return result
	}
	for i, s := range job.Steps {
		name := s.Name
		if name == "" {
			name = s.Uses
		}
		if !cond(s.If) {
			continue
		}
		if s.Uses != "" {
			if strings.HasPrefix(s.Uses, "actions/upload-artifact@") {
				for _, p := range strings.Fields(fmt.Sprint(s.With["path"])) {
					if !fileExists(filepath.Join(w.dir, p)) {
						t.Errorf("step %q uploads %s, which does not exist", name, p)
					}
				}
			}
			continue
		}
		files := map[string]string{}
		for _, f := range []string{"GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"} {
			files[f] = filepath.Join(t.TempDir(), f)
			if err := os.WriteFile(files[f], nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		stepEnv := []string{}
		for k, v := range env {
			stepEnv = append(stepEnv, k+"="+v)
		}
		for k, v := range s.Env {
			stepEnv = append(stepEnv, k+"="+subst(v))
		}
		for f, p := range files {
			stepEnv = append(stepEnv, f+"="+p)
		}
		code, out := w.runScript(t, []string{"-e"}, subst(s.Run), stepEnv)
		t.Logf("step %d %q: exit %d\n%s", i, name, code, strings.TrimSpace(out))
		if code != 0 {
			failed = true
		}
		for _, kv := range readKV(t, files["GITHUB_ENV"]) {
			env[kv[0]] = kv[1]
		}
		if s.ID != "" {
			outputs[s.ID] = map[string]string{}
			for _, kv := range readKV(t, files["GITHUB_OUTPUT"]) {
				outputs[s.ID][kv[0]] = kv[1]
			}
		}
	}
	return failed
}

func readKV(t *testing.T, path string) [][2]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

// TestGitHubWorkflowRunsLaunches runs the workflow's jobs on three launches (healthy, a
// rollback decided at 25%, a hold at 5%) and checks what a launch commander relies on: the
// decisions archived in order, the rollback hook run exactly when a gate decided rollback,
// the job failing on anything but a complete launch, the archive verified and the report
// written whatever happened.
func TestGitHubWorkflowRunsLaunches(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is not installed (apt-get install jq): the window step reads the decision with it, as on GitHub's runners")
	}
	b, err := os.ReadFile(filepath.Join(examplesDir, "github-actions/launch.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf ghWorkflow
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	for _, scenario := range []string{"healthy", "rollback at 25%", "hold at 5%"} {
		t.Run(scenario, func(t *testing.T) {
			w := newLaunchWorld(t, launchScenarios[scenario])
			if runGitHubJob(t, w, &wf, "readiness") {
				t.Fatal("the readiness job failed")
			}
			failed := runGitHubJob(t, w, &wf, "launch")
			if failed != (scenario != "healthy") {
				t.Errorf("launch job failed: %v", failed)
			}
			checkLaunch(t, w, scenario)
		})
	}
}

// TestGitLabPipelineRunsLaunches runs the pipeline's jobs stage by stage on the same three
// launches: before_script and script in one `bash -e` as a runner does, after_script in its
// own shell, `when: manual` jobs started (the commander's click), a failed job stopping the
// later stages. The workspace is shared, standing in for the archive handed on as artifacts.
func TestGitLabPipelineRunsLaunches(t *testing.T) {
	p, err := loadGitLab(readGitLab(t))
	if err != nil {
		t.Fatal(err)
	}
	stageIndex := map[string]int{}
	for i, s := range p.stages {
		stageIndex[s] = i
	}
	order := append([]string{}, p.order...)
	sort.SliceStable(order, func(i, j int) bool { return stageIndex[p.jobs[order[i]].Stage] < stageIndex[p.jobs[order[j]].Stage] })
	for _, scenario := range []string{"healthy", "rollback at 25%", "hold at 5%"} {
		t.Run(scenario, func(t *testing.T) {
			w := newLaunchWorld(t, launchScenarios[scenario])
			env := []string{"CI_PIPELINE_SOURCE=web"}
			for k, v := range p.variables {
				env = append(env, k+"="+v)
			}
			failed := false
			var exits []string
			for _, name := range order {
				job := p.jobs[name]
				if failed && job.When != "on_failure" && job.When != "always" || !failed && job.When == "on_failure" {
					continue
				}
				jobEnv := append([]string{}, env...)
				for k, v := range job.Variables {
					jobEnv = append(jobEnv, k+"="+v)
				}
				script := strings.Join(append(append([]string{}, derefList(job.BeforeScript)...), job.Script...), "\n")
				code, out := w.runScript(t, []string{"-e", "-o", "pipefail"}, script, jobEnv)
				t.Logf("job %s: exit %d\n%s", name, code, strings.TrimSpace(out))
				if len(job.AfterScript) > 0 {
					if c, out := w.runScript(t, []string{"-e"}, strings.Join(job.AfterScript, "\n"), jobEnv); c != 0 {
						t.Errorf("job %s: after_script exit %d\n%s", name, c, out)
					}
				}
				exits = append(exits, fmt.Sprintf("%s=%d", name, code))
				if code != 0 {
					failed = true
				}
			}
			if failed != (scenario != "healthy") {
				t.Errorf("pipeline failed: %v (%v)", failed, exits)
			}
			checkLaunch(t, w, scenario)
		})
	}
}

package manifests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/metricproviders/webmetric"
	rollouts "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/validation"
	analysisutil "github.com/argoproj/argo-rollouts/utils/analysis"
	log "github.com/sirupsen/logrus"
)

func argoObjects(t *testing.T) (*rollouts.Rollout, map[string]*rollouts.AnalysisTemplate) {
	t.Helper()
	ro := only[*rollouts.Rollout](t, decodeFile(t, "argo-rollouts/rollout.yaml"))
	templates := map[string]*rollouts.AnalysisTemplate{}
	for _, obj := range decodeFile(t, "argo-rollouts/analysistemplate.yaml") {
		at := obj.(*rollouts.AnalysisTemplate)
		templates[at.Name] = at
	}
	return ro, templates
}

// TestArgoValidation runs the checks the Argo Rollouts controller runs before it acts on a
// Rollout: the spec itself, and each inline analysis step against the templates it names
// (arguments supplied, metrics valid, every metric with a finite count).
func TestArgoValidation(t *testing.T) {
	ro, templates := argoObjects(t)
	if errs := validation.ValidateRollout(ro); len(errs) > 0 {
		t.Fatalf("ValidateRollout: %v", errs.ToAggregate())
	}
	analyses := 0
	for i, step := range ro.Spec.Strategy.Canary.Steps {
		if step.Analysis == nil {
			continue
		}
		analyses++
		var ats []*rollouts.AnalysisTemplate
		for _, ref := range step.Analysis.Templates {
			at, ok := templates[ref.TemplateName]
			if !ok {
				t.Fatalf("step %d: no AnalysisTemplate %q in analysistemplate.yaml", i, ref.TemplateName)
			}
			ats = append(ats, at.DeepCopy())
		}
		errs := validation.ValidateAnalysisTemplatesWithType(ro, validation.AnalysisTemplatesWithType{
			AnalysisTemplates: ats, TemplateType: validation.InlineAnalysis, CanaryStepIndex: i, Args: step.Analysis.Args,
		})
		if len(errs) > 0 {
			t.Errorf("step %d: %v", i, errs.ToAggregate())
		}
	}
	if analyses != 7 {
		t.Errorf("%d analysis steps, want two per canary step and the window (7)", analyses)
	}
	for name, at := range templates {
		if err := analysisutil.ValidateMetrics(at.Spec.Metrics); err != nil {
			t.Errorf("AnalysisTemplate %s: %v", name, err)
		}
	}
}

// TestArgoFollowsRunbook checks the Rollout's steps and the templates' counts against the
// runbook they launch, so that editing one without the other fails.
func TestArgoFollowsRunbook(t *testing.T) {
	rb := loadRunbook(t)
	ro, templates := argoObjects(t)
	interval := mustDuration(t, rb.Window.Interval)
	maxUnknown := mustDuration(t, rb.Window.MaxUnknown)

	// setWeight, the bake's analysis, the verdict's analysis: once per runbook step, then the
	// window.
	steps := ro.Spec.Strategy.Canary.Steps
	if len(steps) != 3*len(rb.Strategy.Steps)+1 {
		t.Fatalf("%d Rollout steps, want 3 per runbook step (%d) and the window", len(steps), len(rb.Strategy.Steps))
	}
	args := func(a *rollouts.RolloutAnalysis) map[string]string {
		out := map[string]string{}
		for _, arg := range a.Args {
			out[arg.Name] = arg.Value
		}
		return out
	}
	for i, want := range rb.Strategy.Steps {
		set, bake, verdict := steps[3*i], steps[3*i+1], steps[3*i+2]
		if set.SetWeight == nil || int(*set.SetWeight) != want.Percent {
			t.Errorf("step %d: setWeight %v, want %d", 3*i, set.SetWeight, want.Percent)
		}
		wantBake := map[string]string{"step": strconv.Itoa(want.Percent), "bake-measurements": strconv.Itoa(int(mustDuration(t, want.Bake)/interval) + 1)}
		if bake.Analysis == nil || len(bake.Analysis.Templates) != 1 || bake.Analysis.Templates[0].TemplateName != "gatekeeper-canary-bake" ||
			fmt.Sprint(args(bake.Analysis)) != fmt.Sprint(wantBake) {
			t.Errorf("step %d: analysis %+v, want gatekeeper-canary-bake with %v (the bake %s from the shift on)", 3*i+1, bake.Analysis, wantBake, want.Bake)
		}
		wantVerdict := map[string]string{"step": strconv.Itoa(want.Percent)}
		if verdict.Analysis == nil || len(verdict.Analysis.Templates) != 1 || verdict.Analysis.Templates[0].TemplateName != "gatekeeper-canary" ||
			fmt.Sprint(args(verdict.Analysis)) != fmt.Sprint(wantVerdict) {
			t.Errorf("step %d: analysis %+v, want gatekeeper-canary with %v", 3*i+2, verdict.Analysis, wantVerdict)
		}
	}
	if last := steps[len(steps)-1]; last.Analysis == nil || last.Analysis.Templates[0].TemplateName != "gatekeeper-window" {
		t.Errorf("last step %+v, want the gatekeeper-window analysis", last)
	}

	bake := templates["gatekeeper-canary-bake"].Spec.Metrics[0]
	if bake.Count == nil || bake.Count.String() != "{{args.bake-measurements}}" || bake.InconclusiveLimit == nil || bake.InconclusiveLimit.String() != bake.Count.String() ||
		bake.ConsecutiveSuccessLimit != nil || bake.FailureLimit == nil || bake.FailureLimit.IntValue() != 0 {
		t.Errorf("gatekeeper-canary-bake: count %v, inconclusiveLimit %v, consecutiveSuccessLimit %v, failureLimit %v: want the bake's measurements, every hold tolerated, no early end, the first rollback fatal",
			bake.Count, bake.InconclusiveLimit, bake.ConsecutiveSuccessLimit, bake.FailureLimit)
	}
	for name, at := range templates {
		m := at.Spec.Metrics[0]
		t.Run(name, func(t *testing.T) {
			if len(at.Spec.Metrics) != 1 {
				t.Fatalf("%d metrics, want 1", len(at.Spec.Metrics))
			}
			if got := mustDuration(t, string(m.Interval)); got != interval {
				t.Errorf("interval %s, want the runbook's window.interval %s", got, interval)
			}
			if time.Duration(m.Provider.Web.TimeoutSeconds)*time.Second <= liveDeadline {
				t.Errorf("timeoutSeconds %d does not exceed the live collection deadline %s", m.Provider.Web.TimeoutSeconds, liveDeadline)
			}
			if m.Provider.Web.JSONPath != "{$}" {
				t.Errorf("jsonPath %q, want {$}: the conditions read the whole decision record", m.Provider.Web.JSONPath)
			}
			if name == "gatekeeper-canary-bake" {
				return // checked above
			}
			// gatekeeper's rollback is already sustained: the first one must abort.
			if m.FailureLimit == nil || m.FailureLimit.IntValue() != 0 {
				t.Errorf("failureLimit %v, want 0", m.FailureLimit)
			}
			// gatekeeper's go is already the step's verdict: the first one must end the step.
			if m.ConsecutiveSuccessLimit == nil || m.ConsecutiveSuccessLimit.IntValue() != 1 {
				t.Errorf("consecutiveSuccessLimit %v, want 1", m.ConsecutiveSuccessLimit)
			}
			// Holds must outlast max_unknown, so that gatekeeper, not Argo, turns a long unknown
			// into a rollback.
			if m.InconclusiveLimit == nil || time.Duration(m.InconclusiveLimit.IntValue())*interval <= maxUnknown {
				t.Errorf("inconclusiveLimit %v × %s does not outlast max_unknown %s", m.InconclusiveLimit, interval, maxUnknown)
			}
			if m.Count == nil || m.Count.IntValue() != m.InconclusiveLimit.IntValue()+1 {
				t.Errorf("count %v, want inconclusiveLimit + 1: the last measurement may still end the hold", m.Count)
			}
		})
	}
	window := templates["gatekeeper-window"].Spec.Metrics[0]
	if time.Duration(window.Count.IntValue())*interval < mustDuration(t, rb.Window.Duration) {
		t.Errorf("window count %v × %s is shorter than the window %s", window.Count, interval, rb.Window.Duration)
	}
}

// decideBody is the body of POST /v1/decide as `gatekeeper serve` reads it (server.DecideRequest;
// the server refuses unknown fields too).
type decideBody struct {
	Gate        string          `json:"gate"`
	Step        *int            `json:"step,omitempty"`
	Environment string          `json:"environment,omitempty"`
	Facts       json.RawMessage `json:"facts,omitempty"`
}

// analysisRun builds the AnalysisRun the controller creates for one analysis step, with the
// token Secret resolved as the controller resolves it.
func analysisRun(t *testing.T, ro *rollouts.Rollout, templates map[string]*rollouts.AnalysisTemplate, stepIndex int, secrets map[string]string) *rollouts.AnalysisRun {
	t.Helper()
	step := ro.Spec.Strategy.Canary.Steps[stepIndex].Analysis
	var ats []*rollouts.AnalysisTemplate
	for _, ref := range step.Templates {
		ats = append(ats, templates[ref.TemplateName].DeepCopy())
	}
	args, err := analysisutil.BuildArgumentsForRolloutAnalysisRun(step.Args, nil, nil, ro)
	if err != nil {
		t.Fatal(err)
	}
	run, err := analysisutil.NewAnalysisRunFromTemplates(ats, nil, args, nil, nil, nil, nil, "run", "", ro.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range run.Spec.Args {
		if a.ValueFrom != nil && a.ValueFrom.SecretKeyRef != nil {
			v, ok := secrets[a.ValueFrom.SecretKeyRef.Name+"/"+a.ValueFrom.SecretKeyRef.Key]
			if !ok {
				t.Fatalf("arg %s: no Secret %s key %s", a.Name, a.ValueFrom.SecretKeyRef.Name, a.ValueFrom.SecretKeyRef.Key)
			}
			run.Spec.Args[i].Value, run.Spec.Args[i].ValueFrom = &v, nil
		}
	}
	return run
}

// measure takes one measurement of the run's metric with Argo's own web metric provider, the
// connection going to addr whatever host the metric's URL names (the Service's DNS name).
func measure(t *testing.T, run *rollouts.AnalysisRun, addr string, mutate func(*rollouts.Metric)) rollouts.Measurement {
	t.Helper()
	metric, err := analysisutil.ResolveMetricArgs(run.Spec.Metrics[0], run.Spec.Args)
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(metric)
	}
	client, err := webmetric.NewWebMetricHttpClient(*metric)
	if err != nil {
		t.Fatal(err)
	}
	client.Transport = &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	parser, err := webmetric.NewWebMetricJsonParser(*metric)
	if err != nil {
		t.Fatal(err)
	}
	logger := log.New()
	logger.SetOutput(io.Discard)
	return webmetric.NewWebMetricProvider(*log.NewEntry(logger), client, parser).Run(run, *metric)
}

// TestArgoMeasuresDecisions runs each analysis step's metric through Argo's web metric
// provider and condition evaluation against a server that checks the request as `gatekeeper
// serve` would and answers with decision records `gatekeeper evaluate` made for the example
// scenarios: go, rollback and hold must become Successful, Failed and Inconclusive.
func TestArgoMeasuresDecisions(t *testing.T) {
	ro, templates := argoObjects(t)
	const token = "0123456789abcdef0123456789abcdef"
	secrets := map[string]string{"gatekeeper-token/token": token}
	stepIndex := analysisSteps(ro)
	for _, tc := range []struct {
		analysis, scenario string
		wantGate           string
		wantStep           int
		want               rollouts.AnalysisPhase
	}{
		{"gatekeeper-canary-bake-5", "healthy__canary-5", "canary", 5, rollouts.AnalysisPhaseSuccessful},
		{"gatekeeper-canary-bake-5", "zero-traffic__canary-5", "canary", 5, rollouts.AnalysisPhaseInconclusive},
		{"gatekeeper-canary-bake-25", "sustained-errors__canary-25", "canary", 25, rollouts.AnalysisPhaseFailed},
		{"gatekeeper-canary-5", "healthy__canary-5", "canary", 5, rollouts.AnalysisPhaseSuccessful},
		{"gatekeeper-canary-5", "zero-traffic__canary-5", "canary", 5, rollouts.AnalysisPhaseInconclusive},
		{"gatekeeper-canary-5", "stale-facts__canary-5", "canary", 5, rollouts.AnalysisPhaseInconclusive},
		{"gatekeeper-canary-25", "healthy__canary-25", "canary", 25, rollouts.AnalysisPhaseSuccessful},
		{"gatekeeper-canary-25", "sustained-errors__canary-25", "canary", 25, rollouts.AnalysisPhaseFailed},
		{"gatekeeper-canary-100", "healthy__canary-100", "canary", 100, rollouts.AnalysisPhaseSuccessful},
		{"gatekeeper-window", "healthy__window", "window", 0, rollouts.AnalysisPhaseSuccessful},
		{"gatekeeper-window", "short-spike__window", "window", 0, rollouts.AnalysisPhaseInconclusive},
		{"gatekeeper-window", "missing-metrics__window", "window", 0, rollouts.AnalysisPhaseInconclusive},
		{"gatekeeper-window", "unknown-too-long__window", "window", 0, rollouts.AnalysisPhaseFailed},
		{"gatekeeper-window", "latency-regression__window", "window", 0, rollouts.AnalysisPhaseFailed},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			record, decision, complete := goldenRecord(t, tc.scenario)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := checkDecideRequest(r, token, tc.wantGate, tc.wantStep); err != nil {
					t.Error(err)
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(record)
			}))
			defer srv.Close()
			run := analysisRun(t, ro, templates, stepIndex[tc.analysis], secrets)
			m := measure(t, run, srv.Listener.Addr().String(), nil)
			if m.Phase != tc.want {
				t.Errorf("decision %s (complete %v): measurement %s (%s), want %s", decision, complete, m.Phase, m.Message, tc.want)
			}
		})
	}
}

// analysisSteps indexes the Rollout's analysis steps by template name and step
// ("gatekeeper-canary-bake-25", "gatekeeper-window").
func analysisSteps(ro *rollouts.Rollout) map[string]int {
	out := map[string]int{}
	for i, s := range ro.Spec.Strategy.Canary.Steps {
		if s.Analysis == nil {
			continue
		}
		key := s.Analysis.Templates[0].TemplateName
		for _, a := range s.Analysis.Args {
			if a.Name == "step" {
				key += "-" + a.Value
			}
		}
		out[key] = i
	}
	return out
}

// checkDecideRequest checks one request as `gatekeeper serve` reads it.
func checkDecideRequest(r *http.Request, token, gate string, step int) error {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/decide" {
		return fmt.Errorf("request %s %s, want POST /v1/decide", r.Method, r.URL.Path)
	}
	if r.Host != "gatekeeper.gatekeeper.svc.cluster.local:8080" {
		return fmt.Errorf("host %q, want the gatekeeper Service of examples/kubernetes/serve.yaml", r.Host)
	}
	if got := r.URL.Query().Get("runbook"); got != "shop" {
		return fmt.Errorf("runbook %q, want shop", got)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+token {
		return fmt.Errorf("Authorization %q, want the token from the Secret", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		return fmt.Errorf("Content-Type %q", got)
	}
	b, _ := io.ReadAll(r.Body)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var body decideBody
	if err := dec.Decode(&body); err != nil {
		return fmt.Errorf("body %s: %v", b, err)
	}
	if body.Gate != gate || body.Environment != "production" || (gate == "canary") != (body.Step != nil) || body.Step != nil && *body.Step != step {
		return fmt.Errorf("body %s, want gate %s step %d in production", b, gate, step)
	}
	return nil
}

// TestArgoAnswersThatAreNotDecisions pins down how Argo's web provider (v1.10.1,
// metricproviders/webmetric/webmetric.go) treats answers gatekeeper must never give with a
// 2xx: a non-2xx status is an Error (counted by consecutiveErrorLimit, not failureLimit), but
// a 2xx body that is not JSON is taken as a Successful measurement without evaluating either
// condition. So gatekeeper serve answers every decided request with 200 and the JSON record,
// and every refusal with a non-2xx status.
func TestArgoAnswersThatAreNotDecisions(t *testing.T) {
	ro, templates := argoObjects(t)
	run := analysisRun(t, ro, templates, analysisSteps(ro)["gatekeeper-canary-25"], map[string]string{"gatekeeper-token/token": "0123456789abcdef0123456789abcdef"})
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   rollouts.AnalysisPhase
	}{
		{"unauthorized", http.StatusUnauthorized, `{"error":"missing or wrong bearer token"}`, rollouts.AnalysisPhaseError},
		{"unprocessable", http.StatusUnprocessableEntity, `{"error":"step: 7 is not a step of the runbook"}`, rollouts.AnalysisPhaseError},
		{"record without a decision", http.StatusOK, `{"gate":"canary"}`, rollouts.AnalysisPhaseInconclusive},
		{"not JSON", http.StatusOK, `go`, rollouts.AnalysisPhaseSuccessful},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			if m := measure(t, run, srv.Listener.Addr().String(), nil); m.Phase != tc.want {
				t.Errorf("measurement %s (%s), want %s", m.Phase, m.Message, tc.want)
			}
		})
	}
}

// withFacts turns a resolved metric's body into the same request with the facts of a scenario
// file in it, the way a pipeline posts facts it collected itself.
func withFacts(t *testing.T, facts json.RawMessage) func(*rollouts.Metric) {
	return func(m *rollouts.Metric) {
		var body map[string]any
		if err := json.Unmarshal([]byte(m.Provider.Web.Body), &body); err != nil {
			t.Fatalf("resolved body %s: %v", m.Provider.Web.Body, err)
		}
		body["facts"] = facts
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		m.Provider.Web.Body = string(b)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

var _ = strings.TrimSpace

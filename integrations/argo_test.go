package integrations

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/metricproviders/webmetric"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	analysisutil "github.com/argoproj/argo-rollouts/utils/analysis"
	log "github.com/sirupsen/logrus"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// Argo Rollouts' own code is used throughout: the web metric provider
// (metricproviders/webmetric/webmetric.go: NewWebMetricHttpClient, NewWebMetricJsonParser,
// Provider.Run, which evaluates the conditions with utils/evaluate) and the argument
// substitution of the analysis controller (utils/analysis.ResolveMetricArgs), v1.10.1.

// measure runs one measurement of metric with Argo's web metric provider.
func measure(t *testing.T, metric v1alpha1.Metric) v1alpha1.Measurement {
	t.Helper()
	client, err := webmetric.NewWebMetricHttpClient(metric)
	if err != nil {
		t.Fatal(err)
	}
	parser, err := webmetric.NewWebMetricJsonParser(metric)
	if err != nil {
		t.Fatal(err)
	}
	logger := log.New()
	logger.SetOutput(&bytes.Buffer{})
	p := webmetric.NewWebMetricProvider(*log.NewEntry(logger), client, parser)
	return p.Run(&v1alpha1.AnalysisRun{}, metric)
}

// argoPhase is the measurement phase DESIGN's mapping gives a decision.
var argoPhase = map[engine.Outcome]v1alpha1.AnalysisPhase{
	engine.Go:       v1alpha1.AnalysisPhaseSuccessful,
	engine.Rollback: v1alpha1.AnalysisPhaseFailed,
	engine.NoGo:     v1alpha1.AnalysisPhaseInconclusive,
}

// TestArgoWebMetricEveryScenario posts every example facts file through Argo's provider,
// with both ways of reading the decision, and checks the measurement phase.
func TestArgoWebMetricEveryScenario(t *testing.T) {
	ts := start(t)
	readings := []struct {
		name, jsonPath, success, failure string
	}{
		{"whole record", "{$}", `result.decision == "go"`, `result.decision == "rollback"`},
		{"decision only", "{$.decision}", `result == "go"`, `result == "rollback"`},
	}
	for _, sc := range scenarios(t) {
		for _, r := range readings {
			t.Run(sc.File+"/"+r.name, func(t *testing.T) {
				m := measure(t, v1alpha1.Metric{
					Name: "gatekeeper", SuccessCondition: r.success, FailureCondition: r.failure,
					Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{
						Method:   v1alpha1.WebMetricMethodPost,
						URL:      ts.URL + "/v1/decide?runbook=" + runbookName(sc.Runbook),
						Headers:  []v1alpha1.WebMetricHeader{{Key: "Authorization", Value: "Bearer " + token}},
						Body:     string(read(t, scenarioDir+"/"+sc.File)),
						JSONPath: r.jsonPath,
					}},
				})
				if want := argoPhase[sc.Decision]; m.Phase != want {
					t.Fatalf("decision %s measured %s (%s), want %s", sc.Decision, m.Phase, m.Message, want)
				}
				if !strings.Contains(m.Value, string(sc.Decision)) {
					t.Errorf("measurement value %.200q does not hold the decision", m.Value)
				}
			})
		}
	}
}

// TestArgoErrorsAreNotFailures: a request gatekeeper cannot decide is a measurement Error
// (Argo retries, up to consecutiveErrorLimit), never Successful and never Failed.
func TestArgoErrorsAreNotFailures(t *testing.T) {
	ts := start(t)
	facts := string(read(t, scenarioDir+"/healthy__window.json"))
	tests := []struct {
		name, url, token, body string
	}{
		{"no token", ts.URL + "/v1/decide?runbook=shop", "", facts},
		{"wrong token", ts.URL + "/v1/decide?runbook=shop", "not-" + token, facts},
		{"unknown runbook", ts.URL + "/v1/decide?runbook=shop-2", token, facts},
		{"gate typo", ts.URL + "/v1/decide?runbook=shop", token, strings.Replace(facts, `"gate": "window"`, `"gate": "widnow"`, 1)},
		{"server down", "http://127.0.0.1:1/v1/decide", token, facts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			web := &v1alpha1.WebMetric{Method: v1alpha1.WebMetricMethodPost, URL: tt.url, Body: tt.body, JSONPath: "{$}", TimeoutSeconds: 5}
			if tt.token != "" {
				web.Headers = []v1alpha1.WebMetricHeader{{Key: "Authorization", Value: "Bearer " + tt.token}}
			}
			m := measure(t, v1alpha1.Metric{Name: "gatekeeper", SuccessCondition: `result.decision == "go"`, FailureCondition: `result.decision == "rollback"`,
				Provider: v1alpha1.MetricProvider{Web: web}})
			if m.Phase != v1alpha1.AnalysisPhaseError {
				t.Fatalf("measured %s (%s), want Error", m.Phase, m.Message)
			}
		})
	}
}

// TestArgoAnalysisTemplateFromDocs takes the AnalysisTemplate of docs/serve.md as written,
// checks its counting leaves the sustained window to gatekeeper, resolves its arguments as
// Argo's analysis controller does, and measures a canary step live: the first measurement
// at the traffic shift, then the end of the bake.
func TestArgoAnalysisTemplateFromDocs(t *testing.T) {
	var tmpl v1alpha1.AnalysisTemplate
	strict(t, docsYAML(t, "AnalysisTemplate"), &tmpl)
	if len(tmpl.Spec.Metrics) != 1 {
		t.Fatalf("template has %d metrics, want 1", len(tmpl.Spec.Metrics))
	}
	metric := tmpl.Spec.Metrics[0]
	rb, err := engine.LoadRunbook(example + "/runbook.yaml")
	if err != nil {
		t.Fatal(err)
	}
	interval, err := metric.Interval.Duration()
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case metric.FailureLimit == nil || metric.FailureLimit.IntValue() != 0:
		t.Errorf("failureLimit %v: want 0, gatekeeper's rollback is already sustained", metric.FailureLimit)
	case metric.ConsecutiveSuccessLimit == nil || metric.ConsecutiveSuccessLimit.IntValue() != 1:
		t.Errorf("consecutiveSuccessLimit %v: want 1, gatekeeper's go is already sustained", metric.ConsecutiveSuccessLimit)
	case interval != rb.Spec.Window.Interval:
		t.Errorf("interval %s, want the runbook's window.interval %s", interval, rb.Spec.Window.Interval)
	case metric.InconclusiveLimit == nil || time.Duration(metric.InconclusiveLimit.IntValue())*interval <= rb.Spec.Window.MaxUnknown:
		t.Errorf("inconclusiveLimit %v x %s: want longer than max_unknown %s, so gatekeeper decides first", metric.InconclusiveLimit, interval, rb.Spec.Window.MaxUnknown)
	case metric.Provider.Web == nil || metric.Provider.Web.TimeoutSeconds*int64(time.Second) <= int64(60*time.Second):
		t.Errorf("web timeoutSeconds must exceed the live collection deadline (60s)")
	}

	tests := []struct {
		name, end string
		want      v1alpha1.AnalysisPhase
	}{
		{"healthy bake", "healthy__canary-25.json", v1alpha1.AnalysisPhaseSuccessful},
		{"sustained errors", "sustained-errors__canary-25.json", v1alpha1.AnalysisPhaseFailed},
		{"zero traffic", "zero-traffic__canary-5.json", v1alpha1.AnalysisPhaseInconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			day := &launchDay{}
			ts := start(t, day.options(t)...)
			// The pipeline passed pre-cutover, from collected facts.
			pre, err := http.NewRequest(http.MethodPost, ts.URL+"/v1/decide?runbook=shop", bytes.NewReader(read(t, scenarioDir+"/healthy__pre-cutover.json")))
			if err != nil {
				t.Fatal(err)
			}
			pre.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(pre)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("pre-cutover: %v %v", err, resp)
			}
			resp.Body.Close()

			args := append([]v1alpha1.Argument(nil), tmpl.Spec.Args...)
			for i := range args {
				v := ""
				switch args[i].Name {
				case "step":
					v = "25"
					if strings.Contains(tt.end, "canary-5") {
						v = "5"
					}
				case "token":
					v = token // what the controller reads from the Secret
				default:
					continue
				}
				args[i].Value, args[i].ValueFrom = &v, nil
			}
			resolved, err := analysisutil.ResolveMetricArgs(metric, args)
			if err != nil {
				t.Fatal(err)
			}
			resolved.Provider.Web.URL = strings.Replace(resolved.Provider.Web.URL, "http://gatekeeper.gatekeeper.svc:8080", ts.URL, 1)
			if !strings.HasPrefix(resolved.Provider.Web.URL, ts.URL) {
				t.Fatalf("template URL %q is not the documented service", resolved.Provider.Web.URL)
			}
			// Traffic shifts: the first measurement, nothing observed yet, holds.
			shift := "2026-11-25T13:46:00Z"
			if strings.Contains(tt.end, "canary-5") {
				shift = "2026-11-25T13:35:00Z"
			}
			day.set(t, shift, "")
			if m := measure(t, *resolved); m.Phase != v1alpha1.AnalysisPhaseInconclusive {
				t.Fatalf("at the shift: measured %s (%s), want Inconclusive", m.Phase, m.Message)
			}
			// Later in the bake, the live systems report the scenario.
			day.set(t, nowOf(t, tt.end), tt.end)
			if m := measure(t, *resolved); m.Phase != tt.want {
				t.Fatalf("measured %s (%s, %.300s), want %s", m.Phase, m.Message, m.Value, tt.want)
			}
		})
	}
}

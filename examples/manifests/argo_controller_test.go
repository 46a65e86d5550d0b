package manifests

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/analysis"
	"github.com/argoproj/argo-rollouts/controller/metrics"
	rollouts "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/pkg/client/clientset/versioned/fake"
	informers "github.com/argoproj/argo-rollouts/pkg/client/informers/externalversions"
	analysisutil "github.com/argoproj/argo-rollouts/utils/analysis"
	"github.com/argoproj/argo-rollouts/utils/queue"
	"github.com/argoproj/argo-rollouts/utils/record"
	log "github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubeinformers "k8s.io/client-go/informers"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/util/workqueue"
)

// scriptedGatekeeper answers POST /v1/decide with one decision record after another (the
// last one repeated), as gatekeeper would over successive intervals of a launch.
type scriptedGatekeeper struct {
	mu      sync.Mutex
	answers []string // scenario name, or "500" for a failed answer
	asked   int
}

func (s *scriptedGatekeeper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i := min(s.asked, len(s.answers)-1)
	s.asked++
	answer := s.answers[i]
	s.mu.Unlock()
	if answer == "500" {
		http.Error(w, `{"error":"engine failure"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(answer2record[answer])
}

var answer2record = map[string][]byte{}

// runArgoAnalysis runs one analysis step of the Rollout through Argo Rollouts' own analysis
// controller (analysis.NewController, on fake API clients holding the AnalysisRun and the
// token Secret) until the run completes, and returns its phase and how many measurements it
// took. Two things differ from the cluster: the metric's interval is shortened to tick (the
// counts and limits are the template's), and its URL points at gk.
func runArgoAnalysis(t *testing.T, stepName string, gk *httptest.Server, tick time.Duration) (rollouts.AnalysisPhase, int32) {
	t.Helper()
	ro, templates := argoObjects(t)
	step := ro.Spec.Strategy.Canary.Steps[analysisSteps(ro)[stepName]].Analysis
	var ats []*rollouts.AnalysisTemplate
	for _, ref := range step.Templates {
		ats = append(ats, templates[ref.TemplateName].DeepCopy())
	}
	args, err := analysisutil.BuildArgumentsForRolloutAnalysisRun(step.Args, nil, nil, ro)
	if err != nil {
		t.Fatal(err)
	}
	run, err := analysisutil.NewAnalysisRunFromTemplates(ats, nil, args, nil, nil, nil, nil, "gatekeeper-run", "", ro.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	for i := range run.Spec.Metrics {
		m := &run.Spec.Metrics[i]
		m.Interval = rollouts.DurationString(tick.String())
		m.Provider.Web.URL = strings.Replace(m.Provider.Web.URL, "http://gatekeeper.gatekeeper.svc.cluster.local:8080", gk.URL, 1)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "gatekeeper-token", Namespace: ro.Namespace},
		Data: map[string][]byte{"token": []byte(testToken)}}

	client := fake.NewSimpleClientset(run)
	kubeclient := k8sfake.NewSimpleClientset(secret)
	argoInformers := informers.NewSharedInformerFactory(client, 0)
	kubeInformers := kubeinformers.NewSharedInformerFactory(kubeclient, 0)
	q := workqueue.NewNamedRateLimitingQueue(queue.DefaultArgoRolloutsRateLimiter(), "AnalysisRuns")
	c := analysis.NewController(analysis.ControllerConfig{
		KubeClientSet:        kubeclient,
		ArgoProjClientset:    client,
		AnalysisRunInformer:  argoInformers.Argoproj().V1alpha1().AnalysisRuns(),
		JobInformer:          kubeInformers.Batch().V1().Jobs(),
		JobPodsInformer:      kubeInformers.Core().V1().Pods(),
		AnalysisRunWorkQueue: q,
		MetricsServer:        metrics.NewMetricsServer(metrics.ServerConfig{Addr: "127.0.0.1:0", K8SRequestProvider: &metrics.K8sRequestsCountProvider{}}),
		Recorder:             record.NewFakeEventRecorder(),
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	argoInformers.Start(ctx.Done())
	kubeInformers.Start(ctx.Done())
	argoInformers.WaitForCacheSync(ctx.Done())
	kubeInformers.WaitForCacheSync(ctx.Done())
	done := make(chan struct{})
	go func() {
		_ = c.Run(ctx, 1)
		close(done)
	}()
	// The workers stop only once their queue is shut down.
	defer func() { cancel(); q.ShutDown(); <-done }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		got, err := client.ArgoprojV1alpha1().AnalysisRuns(ro.Namespace).Get(ctx, run.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Phase.Completed() {
			var n int32
			for _, mr := range got.Status.MetricResults {
				n += mr.Count
			}
			return got.Status.Phase, n
		}
		time.Sleep(tick / 4)
	}
	t.Fatalf("the analysis run did not complete within 30s")
	return "", 0
}

// TestArgoControllerCounts runs the analysis steps of rollout.yaml through Argo's analysis
// controller on sequences of gatekeeper decisions, to show the counts do what the comments
// say: Argo adds no counting of its own to gatekeeper's decisions. (Errors are not run here:
// Argo retries an errored measurement only after its fixed 10s error interval, so five of them
// take most of a minute; TestArgoAnswersThatAreNotDecisions covers how an answer becomes one.)
func TestArgoControllerCounts(t *testing.T) {
	logger := log.StandardLogger()
	out := logger.Out
	logger.SetOutput(io.Discard)
	defer logger.SetOutput(out)
	for _, name := range []string{"healthy__canary-5", "zero-traffic__canary-5", "sustained-errors__canary-25", "healthy__window", "short-spike__window", "unknown-too-long__window"} {
		raw, _, _ := goldenRecord(t, name)
		answer2record[name] = raw
	}
	hold, goStep, rollback := "zero-traffic__canary-5", "healthy__canary-5", "sustained-errors__canary-25"
	goOpen, complete, windowRollback := "short-spike__window", "healthy__window", "unknown-too-long__window"
	repeat := func(s string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = s
		}
		return out
	}
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	for _, tc := range []struct {
		name, step string
		answers    []string
		want       rollouts.AnalysisPhase
		wantAsked  int32
	}{
		// The bake: exactly its 11 measurements, holds and early go's alike; a rollback at once.
		{"bake: holds then go, never cut short", "gatekeeper-canary-bake-5", cat(repeat(hold, 5), repeat(goStep, 6)), rollouts.AnalysisPhaseSuccessful, 11},
		{"bake: all holds, the verdict decides", "gatekeeper-canary-bake-5", repeat(hold, 11), rollouts.AnalysisPhaseSuccessful, 11},
		{"bake: first rollback aborts", "gatekeeper-canary-bake-25", cat(repeat(goStep, 2), []string{rollback}), rollouts.AnalysisPhaseFailed, 3},
		// The verdict: the first go moves on; holds outlast max_unknown, then the rollout pauses.
		{"verdict: first go", "gatekeeper-canary-5", []string{goStep}, rollouts.AnalysisPhaseSuccessful, 1},
		{"verdict: holds then go", "gatekeeper-canary-5", cat(repeat(hold, 6), []string{goStep}), rollouts.AnalysisPhaseSuccessful, 7},
		{"verdict: hold too long pauses", "gatekeeper-canary-5", repeat(hold, 10), rollouts.AnalysisPhaseInconclusive, 10},
		{"verdict: first rollback aborts", "gatekeeper-canary-25", []string{hold, rollback}, rollouts.AnalysisPhaseFailed, 2},
		// The window: go while open, until gatekeeper says complete; a rollback at once.
		{"window: open until complete", "gatekeeper-window", cat(repeat(goOpen, 4), []string{complete}), rollouts.AnalysisPhaseSuccessful, 5},
		{"window: rollback", "gatekeeper-window", cat(repeat(goOpen, 3), []string{windowRollback}), rollouts.AnalysisPhaseFailed, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gk := &scriptedGatekeeper{answers: tc.answers}
			srv := httptest.NewServer(gk)
			defer srv.Close()
			phase, measured := runArgoAnalysis(t, tc.step, srv, 150*time.Millisecond)
			if phase != tc.want || measured != tc.wantAsked {
				t.Errorf("analysis %s after %d measurements, want %s after %d", phase, measured, tc.want, tc.wantAsked)
			}
		})
	}
}

package manifests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	flagger "github.com/fluxcd/flagger/pkg/apis/flagger/v1beta1"
	flaggerctl "github.com/fluxcd/flagger/pkg/controller"
)

// flaggerHooks are the webhook types the example uses and the gate each one decides in
// `gatekeeper serve` (server.FlaggerHooks).
var flaggerHooks = map[flagger.HookType]string{
	flagger.ConfirmRolloutHook:   "pre-cutover",
	flagger.PreRolloutHook:       "post-deploy",
	flagger.ConfirmPromotionHook: "canary",
	flagger.RollbackHook:         "canary",
}

func flaggerCanary(t *testing.T) *flagger.Canary {
	t.Helper()
	return only[*flagger.Canary](t, decodeFile(t, "flagger/canary.yaml"))
}

// substituteToken does what the documented deployment does to ${GATEKEEPER_TOKEN} (Flux
// postBuild substitution, or envsubst).
func substituteToken(c *flagger.Canary, token string) {
	for i, w := range c.Spec.Analysis.Webhooks {
		if w.Metadata == nil {
			continue
		}
		md := map[string]string{}
		for k, v := range *w.Metadata {
			md[k] = os.Expand(v, func(name string) string {
				if name == "GATEKEEPER_TOKEN" {
					return token
				}
				return "${" + name + "}"
			})
		}
		c.Spec.Analysis.Webhooks[i].Metadata = &md
	}
}

// TestFlaggerFollowsRunbook checks the Canary against the runbook it launches and the
// webhooks against gatekeeper serve's endpoints.
func TestFlaggerFollowsRunbook(t *testing.T) {
	rb := loadRunbook(t)
	c := flaggerCanary(t)
	a := c.Spec.Analysis
	if a == nil {
		t.Fatal("no spec.analysis")
	}
	interval := mustDuration(t, rb.Window.Interval)
	if got := mustDuration(t, a.Interval); got != interval {
		t.Errorf("analysis.interval %s, want the runbook's window.interval %s", got, interval)
	}
	var percents []int
	for _, s := range rb.Strategy.Steps {
		percents = append(percents, s.Percent)
	}
	if !slices.Equal(a.StepWeights, percents) {
		t.Errorf("stepWeights %v, want the runbook's steps %v", a.StepWeights, percents)
	}
	if len(a.Metrics) != 0 {
		t.Errorf("%d Flagger metrics: gatekeeper decides the criteria, Flagger must not count its own", len(a.Metrics))
	}
	if time.Duration(a.Threshold)*interval <= mustDuration(t, rb.Window.MaxUnknown) {
		t.Errorf("threshold %d × %s does not outlast max_unknown %s", a.Threshold, interval, rb.Window.MaxUnknown)
	}
	seen := map[flagger.HookType]bool{}
	for _, w := range a.Webhooks {
		if _, ok := flaggerHooks[w.Type]; !ok {
			t.Errorf("webhook %s: type %s is not one gatekeeper serves", w.Name, w.Type)
			continue
		}
		seen[w.Type] = true
		u, err := url.Parse(w.URL)
		if err != nil {
			t.Fatal(err)
		}
		if u.Host != "gatekeeper.gatekeeper.svc.cluster.local:8080" || u.Path != "/v1/flagger/"+string(w.Type) {
			t.Errorf("webhook %s: url %s, want the gatekeeper Service's /v1/flagger/%s", w.Name, w.URL, w.Type)
		}
		if mustDuration(t, w.Timeout) <= liveDeadline {
			t.Errorf("webhook %s: timeout %s does not exceed the live collection deadline %s", w.Name, w.Timeout, liveDeadline)
		}
		if w.Metadata == nil {
			t.Errorf("webhook %s: no metadata", w.Name)
			continue
		}
		md := *w.Metadata
		if md["token"] != "${GATEKEEPER_TOKEN}" || md["runbook"] != "shop" || md["environment"] != "production" {
			t.Errorf("webhook %s: metadata %v, want the token placeholder, runbook shop, environment production", w.Name, md)
		}
		if w.Type == flagger.ConfirmPromotionHook && md["step"] != strconv.Itoa(percents[len(percents)-1]) {
			t.Errorf("confirm-promotion: metadata.step %q, want the last step %d", md["step"], percents[len(percents)-1])
		}
	}
	if len(seen) != len(flaggerHooks) {
		t.Errorf("webhook types %v, want %v", seen, flaggerHooks)
	}
}

// TestFlaggerCallsWebhooks calls every webhook of the Canary with Flagger's own webhook code
// (controller.CallWebhook: the payload, the timeout, the retries and the status rule "above
// 202 is a refusal") against a server that answers as gatekeeper serve does, with decision
// records `gatekeeper evaluate` made for the example scenarios.
func TestFlaggerCallsWebhooks(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	c := flaggerCanary(t)
	substituteToken(c, token)
	hooks := map[flagger.HookType]flagger.CanaryWebhook{}
	for _, w := range c.Spec.Analysis.Webhooks {
		hooks[w.Type] = w
	}
	for _, tc := range []struct {
		hook     flagger.HookType
		scenario string
		wantOK   bool // Flagger proceeds (or, for rollback, rolls back)
	}{
		{flagger.ConfirmRolloutHook, "healthy__pre-cutover", true},
		{flagger.ConfirmRolloutHook, "uat-mismatch__pre-cutover", false},
		{flagger.PreRolloutHook, "healthy__post-deploy", true},
		{flagger.ConfirmPromotionHook, "healthy__canary-100", true},
		{flagger.ConfirmPromotionHook, "zero-traffic__canary-5", false},
		{flagger.RollbackHook, "sustained-errors__canary-25", true},
		{flagger.RollbackHook, "healthy__canary-25", false},
		{flagger.RollbackHook, "stale-facts__canary-5", false},
	} {
		t.Run(string(tc.hook)+"/"+tc.scenario, func(t *testing.T) {
			record, decision, _ := goldenRecord(t, tc.scenario)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := checkFlaggerRequest(r, tc.hook, token, c); err != nil {
					t.Error(err)
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				pass := "go"
				if tc.hook == flagger.RollbackHook {
					pass = "rollback"
				}
				status := http.StatusOK
				if decision != pass {
					status = http.StatusPreconditionFailed
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				_, _ = w.Write(record)
			}))
			defer srv.Close()
			hook := hooks[tc.hook]
			hook.URL = redirect(t, hook.URL, srv.URL)
			err := flaggerctl.CallWebhook(*c, flagger.CanaryPhaseProgressing, hook)
			if (err == nil) != tc.wantOK {
				t.Errorf("decision %s: CallWebhook error %v, want ok=%v", decision, err, tc.wantOK)
			}
		})
	}
}

// redirect points a webhook URL at the test server, keeping its path and query.
func redirect(t *testing.T, hookURL, to string) string {
	t.Helper()
	u, err := url.Parse(hookURL)
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(to)
	if err != nil {
		t.Fatal(err)
	}
	u.Scheme, u.Host = target.Scheme, target.Host
	return u.String()
}

// checkFlaggerRequest checks one webhook request as gatekeeper serve reads it
// (server.FlaggerPayload).
func checkFlaggerRequest(r *http.Request, hook flagger.HookType, token string, c *flagger.Canary) error {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/flagger/"+string(hook) {
		return fmt.Errorf("request %s %s, want POST /v1/flagger/%s", r.Method, r.URL.Path, hook)
	}
	b, _ := io.ReadAll(r.Body)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Phase     string            `json:"phase"`
		Checksum  string            `json:"checksum"`
		Metadata  map[string]string `json:"metadata"`
	}
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("payload %s: %v", b, err)
	}
	if p.Name != c.Name || p.Namespace != c.Namespace || p.Phase != string(flagger.CanaryPhaseProgressing) || p.Checksum == "" {
		return fmt.Errorf("payload %s: want the canary %s/%s, its phase and checksum", b, c.Namespace, c.Name)
	}
	if p.Metadata["token"] != token || p.Metadata["runbook"] != "shop" || p.Metadata["environment"] != "production" {
		return fmt.Errorf("payload metadata %v: want the token, runbook shop and environment production", p.Metadata)
	}
	return nil
}

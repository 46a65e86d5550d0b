package integrations

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	flaggerv1 "github.com/fluxcd/flagger/pkg/apis/flagger/v1beta1"
	"github.com/fluxcd/flagger/pkg/controller"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// Flagger's own code calls the webhooks: pkg/controller/webhook.go CallWebhook (v1.36.1),
// which posts flaggerv1.CanaryWebhookPayload and reports any status above 202 as an error
// whose text is the answer's body.

// docsCanary is the Canary of docs/serve.md, decoded strictly, its webhooks pointed at url
// and the token substituted as Flux or envsubst would.
func docsCanary(t *testing.T, url, tok string) (flaggerv1.Canary, map[flaggerv1.HookType]flaggerv1.CanaryWebhook) {
	t.Helper()
	var c flaggerv1.Canary
	strict(t, docsYAML(t, "Canary"), &c)
	c.Namespace = "shop"
	hooks := map[flaggerv1.HookType]flaggerv1.CanaryWebhook{}
	for _, w := range c.Spec.Analysis.Webhooks {
		if !strings.HasPrefix(w.URL, "http://gatekeeper.gatekeeper.svc:8080/v1/flagger/"+string(w.Type)) {
			t.Fatalf("webhook %s: URL %q is not the documented /v1/flagger/%s", w.Name, w.URL, w.Type)
		}
		w.URL = strings.Replace(w.URL, "http://gatekeeper.gatekeeper.svc:8080", url, 1)
		md := map[string]string{}
		for k, v := range *w.Metadata {
			md[k] = strings.ReplaceAll(v, "${GATEKEEPER_TOKEN}", tok)
		}
		w.Metadata = &md
		hooks[w.Type] = w
	}
	for _, h := range []flaggerv1.HookType{flaggerv1.ConfirmRolloutHook, flaggerv1.PreRolloutHook, flaggerv1.ConfirmPromotionHook, flaggerv1.RollbackHook} {
		if _, ok := hooks[h]; !ok {
			t.Fatalf("docs Canary has no %s webhook", h)
		}
	}
	return c, hooks
}

// answer is what CallWebhook's error carries back: gatekeeper's answer body.
func answer(t *testing.T, err error) (engine.Record, string) {
	t.Helper()
	if err == nil {
		return engine.Record{}, ""
	}
	var rec engine.Record
	_ = json.Unmarshal([]byte(err.Error()), &rec)
	return rec, err.Error()
}

// TestFlaggerLaunchFromDocs drives a launch through the docs' Canary webhooks with Flagger's
// CallWebhook, the live systems reporting each moment of the example launch.
func TestFlaggerLaunchFromDocs(t *testing.T) {
	day := &launchDay{}
	ts := start(t, day.options(t)...)
	canary, hooks := docsCanary(t, ts.URL, token)
	call := func(h flaggerv1.HookType) error {
		return controller.CallWebhook(canary, flaggerv1.CanaryPhaseProgressing, hooks[h])
	}

	// confirm-rollout decides pre-cutover: UAT approved another build, so Flagger waits.
	day.set(t, "2026-11-25T13:15:00Z", "uat-mismatch__pre-cutover.json")
	err := call(flaggerv1.ConfirmRolloutHook)
	if rec, body := answer(t, err); err == nil || rec.Gate != engine.PreCutover || rec.Decision != engine.NoGo {
		t.Fatalf("confirm-rollout on a UAT mismatch: %v (%.200s), want a non-2xx pre-cutover no-go", err, body)
	}
	// The pipeline passes pre-cutover from collected facts (the staging rehearsal is in them).
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/decide?runbook=shop", bytes.NewReader(read(t, scenarioDir+"/healthy__pre-cutover.json")))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("pre-cutover: %v %v", err, resp)
	}
	resp.Body.Close()

	// pre-rollout decides post-deploy, the cutover taken from the pre-cutover go.
	day.set(t, "2026-11-25T13:24:00Z", "healthy__post-deploy.json")
	if err := call(flaggerv1.PreRolloutHook); err != nil {
		t.Fatalf("pre-rollout on a healthy deployment: %v", err)
	}
	// The rollback hook, no canary step known yet, watches the window gate.
	if err := call(flaggerv1.RollbackHook); err == nil {
		t.Fatal("rollback hook answered 2xx (roll back) on a healthy deployment")
	} else if rec, body := answer(t, err); rec.Gate != engine.Window || rec.Decision == engine.Rollback {
		t.Fatalf("rollback hook: %.300s, want a window decision that is not rollback", body)
	}
	day.set(t, "2026-11-25T14:05:00Z", "latency-regression__window.json")
	if err := call(flaggerv1.RollbackHook); err != nil {
		t.Fatalf("rollback hook on a sustained latency regression: %v, want 2xx (roll back)", err)
	}
	// confirm-promotion at the last step: asked as traffic reaches it, nothing seen yet: wait.
	day.set(t, "2026-11-25T14:02:00Z", "")
	err = call(flaggerv1.ConfirmPromotionHook)
	if rec, body := answer(t, err); err == nil || rec.Gate != engine.Canary || rec.Step == nil || *rec.Step != 100 || rec.Decision != engine.NoGo {
		t.Fatalf("confirm-promotion at the shift: %v (%.300s), want a non-2xx canary step 100 hold", err, body)
	}
	// At the end of the bake, healthy: promote. The step start is the first ask's.
	day.set(t, "2026-11-25T14:12:00Z", "healthy__canary-100.json")
	if err := call(flaggerv1.ConfirmPromotionHook); err != nil {
		t.Fatalf("confirm-promotion after a healthy bake: %.400v", err)
	}
	// Now the rollback hook knows the step: canary 100, healthy, no rollback.
	err = call(flaggerv1.RollbackHook)
	if rec, body := answer(t, err); err == nil || rec.Gate != engine.Canary || rec.Decision != engine.Go {
		t.Fatalf("rollback hook after a healthy step: %v (%.200s), want non-2xx with a canary go", err, body)
	}
}

// TestFlaggerToken: Flagger cannot set headers, so the token comes in the metadata; a wrong
// or missing one is refused before anything is decided.
func TestFlaggerToken(t *testing.T) {
	day := &launchDay{}
	ts := start(t, day.options(t)...)
	day.set(t, "2026-11-25T14:05:00Z", "latency-regression__window.json")
	for _, tt := range []struct {
		name, tok string
	}{
		{"wrong token", "not-the-token-at-all"},
		{"no token", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			canary, hooks := docsCanary(t, ts.URL, tt.tok)
			err := controller.CallWebhook(canary, flaggerv1.CanaryPhaseProgressing, hooks[flaggerv1.RollbackHook])
			if err == nil || !strings.Contains(err.Error(), "bearer token") || strings.Contains(err.Error(), `"decision"`) {
				t.Fatalf("got %v, want a refusal without a decision", err)
			}
		})
	}
}

package server

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func flaggerBody(t testing.TB, md map[string]string) []byte {
	t.Helper()
	b, err := json.Marshal(FlaggerPayload{Name: "web", Namespace: "shop", Phase: "Progressing", Checksum: "6d9c7c6f4", Metadata: md})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFlaggerHooks: each hook decides its gate live and answers 2xx only when its condition
// holds (go; rollback for the rollback hook), with the record in the body either way.
func TestFlaggerHooks(t *testing.T) {
	canary := map[string]string{"token": testToken, "runbook": "runbook", "environment": "production", "step": "25",
		"now": "2026-11-25T14:01:00Z", "cutover_at": "2026-11-25T13:20:00Z", "step_started_at": "2026-11-25T13:46:00Z"}
	tests := []struct {
		name     string
		hook     string
		facts    string // the live sources observe this example facts file
		md       map[string]string
		want     int
		wantGate engine.Gate
		wantDec  engine.Outcome
	}{
		{"confirm-rollout no-go", "confirm-rollout", "uat-mismatch__pre-cutover.json", map[string]string{"token": testToken, "runbook": "runbook", "environment": "production", "now": "2026-11-25T13:15:00Z"}, 412, engine.PreCutover, engine.NoGo},
		{"pre-rollout go", "pre-rollout", "healthy__post-deploy.json", map[string]string{"token": testToken, "runbook": "runbook", "environment": "production", "now": "2026-11-25T13:24:00Z", "cutover_at": "2026-11-25T13:20:00Z"}, 200, engine.PostDeploy, engine.Go},
		{"confirm-traffic-increase go", "confirm-traffic-increase", "healthy__canary-25.json", canary, 200, engine.Canary, engine.Go},
		{"confirm-promotion on sustained errors", "confirm-promotion", "sustained-errors__canary-25.json", canary, 412, engine.Canary, engine.Rollback},
		{"rollback hook on sustained errors", "rollback", "sustained-errors__canary-25.json", canary, 200, engine.Canary, engine.Rollback},
		{"rollback hook on a healthy step", "rollback", "healthy__canary-25.json", canary, 412, engine.Canary, engine.Go},
		{"rollback hook on a hold", "rollback", "zero-traffic__canary-5.json", map[string]string{"token": testToken, "runbook": "runbook", "environment": "production", "step": "5%",
			"now": "2026-11-25T13:38:00Z", "cutover_at": "2026-11-25T13:20:00Z", "step_started_at": "2026-11-25T13:35:00Z"}, 412, engine.Canary, engine.NoGo},
		{"metadata gate overrides the hook's", "rollback", "latency-regression__window.json", map[string]string{"token": testToken, "runbook": "runbook", "environment": "production", "gate": "window",
			"now": "2026-11-25T14:05:00Z", "cutover_at": "2026-11-25T13:20:00Z"}, 200, engine.Window, engine.Rollback},
	}
	// confirm-rollout is tested on a no-go only: a live pre-cutover reads the staging
	// rehearsal from the runbook's rehearsal archive, which the example does not ship.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newServer(t, WithLive(liveFrom(t, tt.facts, nil)))
			code, body := call(t, s, http.MethodPost, "/v1/flagger/"+tt.hook, "", flaggerBody(t, tt.md))
			if code != tt.want {
				t.Fatalf("status %d, want %d: %s", code, tt.want, body)
			}
			rec := decodeRecord(t, body)
			if rec.Gate != tt.wantGate || rec.Decision != tt.wantDec {
				t.Fatalf("decided %s at %s, want %s at %s", rec.Decision, rec.Gate, tt.wantDec, tt.wantGate)
			}
		})
	}
}

// TestFlaggerStepFromArchive: Flagger sends no traffic weight; without metadata.step the
// step (and the cutover time) come from the launch's archive.
func TestFlaggerStepFromArchive(t *testing.T) {
	dir := t.TempDir()
	s, _ := newServer(t, WithArchive(dir), WithEnvironment("production"), WithLive(liveFrom(t, "sustained-errors__canary-25.json", nil)))
	// The pipeline decided step 25 from collected facts, archived.
	if code, body := call(t, s, http.MethodPost, "/v1/decide?runbook=runbook", testToken, scenario(t, "healthy__canary-25.json")); code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	md := map[string]string{"token": testToken, "runbook": "runbook", "now": "2026-11-25T14:01:00Z"}
	code, body := call(t, s, http.MethodPost, "/v1/flagger/rollback", "", flaggerBody(t, md))
	if code != 200 {
		t.Fatalf("status %d, want 200 (rollback decided): %s", code, body)
	}
	rec := decodeRecord(t, body)
	if rec.Step == nil || *rec.Step != 25 || rec.CutoverAt != "2026-11-25T13:20:00Z" || rec.Decision != engine.Rollback {
		t.Fatalf("step %v cutover %q decision %s, want step 25, its start and cutover 13:20 from the archive, rollback", rec.Step, rec.CutoverAt, rec.Decision)
	}
	if rec.Prev == "" {
		t.Fatal("the Flagger decision was not chained after the archived one")
	}
	// A live /v1/decide without cutover_at (Argo's body) takes it from the archive too.
	code, body = call(t, s, http.MethodPost, "/v1/decide?runbook=runbook", testToken, []byte(`{"gate":"canary","step":25,"environment":"production","now":"2026-11-25T14:01:00Z"}`))
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	if rec := decodeRecord(t, body); rec.CutoverAt != "2026-11-25T13:20:00Z" || rec.Decision != engine.Rollback {
		t.Fatalf("cutover %q, %s; want 13:20 and the step start from the archive, rollback", rec.CutoverAt, rec.Decision)
	}
	// The first decision at a step records its own time as the step start; later ones read it.
	code, body = call(t, s, http.MethodPost, "/v1/decide?runbook=runbook", testToken, []byte(`{"gate":"canary","step":100,"environment":"production","now":"2026-11-25T14:03:00Z"}`))
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	st, err := s.launchState("shop-2.4.0-production")
	if err != nil {
		t.Fatal(err)
	}
	if st.stepStarted[100] != "2026-11-25T14:03:00Z" || st.stepStarted[25] != "2026-11-25T13:46:00Z" || *st.step != 100 {
		t.Fatalf("launch state %+v (step %d): want step 100 started 14:03, step 25 at 13:46", st, *st.step)
	}
}

// TestFlaggerFromPreCutover: a launch driven by Flagger alone has no cutover time on record;
// after the pre-cutover go, later hooks take that go's time as the cutover, and the rollback
// hook, with no canary step known, watches the release as the window gate.
func TestFlaggerFromPreCutover(t *testing.T) {
	dir := t.TempDir()
	s, _ := newServer(t, WithArchive(dir), WithEnvironment("production"), WithLive(liveFrom(t, "latency-regression__window.json", nil)))
	if code, body := call(t, s, http.MethodPost, "/v1/decide?runbook=runbook", testToken, scenario(t, "healthy__pre-cutover.json")); code != 200 || decodeRecord(t, body).Decision != engine.Go {
		t.Fatalf("pre-cutover: status %d: %.300s", code, body)
	}
	md := map[string]string{"token": testToken, "runbook": "runbook", "now": "2026-11-25T14:05:00Z"}
	code, body := call(t, s, http.MethodPost, "/v1/flagger/rollback", "", flaggerBody(t, md))
	rec := decodeRecord(t, body)
	if code != 200 || rec.Gate != engine.Window || rec.Decision != engine.Rollback {
		t.Fatalf("status %d, %s at %s; want 200, rollback at window", code, rec.Decision, rec.Gate)
	}
	if rec.CutoverAt != "2026-11-25T13:15:00Z" {
		t.Fatalf("cutover %q, want the pre-cutover go's time 13:15", rec.CutoverAt)
	}
}

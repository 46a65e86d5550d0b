package live

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// rehearsalArchive writes a staging archive of the example runbook: one decided gate and,
// unless outcome is empty, the launch's outcome event.
func rehearsalArchive(t *testing.T, dir, outcome string) *engine.Runbook {
	t.Helper()
	rb, err := engine.LoadRunbook("../testdata/example/runbook.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ps, err := engine.LoadGatePolicies(ctx, engine.PostDeploy)
	if err != nil {
		t.Fatal(err)
	}
	in, err := engine.BuildInput(rb, engine.Params{Gate: engine.PostDeploy, Environment: "staging", Now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC), CutoverAt: "2026-11-24T09:50:00Z"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := archive.AppendDecision(dir, nil, rb, ps, in, func(prev string) (*engine.Record, error) {
		return engine.Decide(ctx, ps, rb, in, prev)
	}); err != nil {
		t.Fatal(err)
	}
	if outcome != "" {
		a, err := archive.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.AppendEvent(archive.Event{Type: archive.EventOutcome, At: "2026-11-24T11:00:00Z", Data: map[string]any{"outcome": outcome}}); err != nil {
			t.Fatal(err)
		}
	}
	return rb
}

func TestRehearsal(t *testing.T) {
	now := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) *engine.Runbook
		env     func(dir string) engine.EnvSpec
		want    map[string]any
		wantErr string
	}{
		{"completed rehearsal", func(t *testing.T, dir string) *engine.Runbook { return rehearsalArchive(t, dir, "completed") },
			func(dir string) engine.EnvSpec { return engine.EnvSpec{Name: "production", RehearsalArchive: dir} },
			map[string]any{"launch_id": "shop-2.4.0-staging", "environment": "staging", "outcome": "completed", "finished_at": "2026-11-24T11:00:00Z",
				"commit": "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8", "version": "2.4.0",
				"image": "registry.example.com/shop/web@sha256:d7bdd545f09d8a73c2b990337c8211d708a04ccd9748627685e4fc79cc038039"}, ""},
		{"no outcome yet", func(t *testing.T, dir string) *engine.Runbook { return rehearsalArchive(t, dir, "") },
			func(dir string) engine.EnvSpec { return engine.EnvSpec{Name: "production", RehearsalArchive: dir} },
			map[string]any{"launch_id": "shop-2.4.0-staging", "environment": "staging",
				"commit": "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8", "version": "2.4.0",
				"image": "registry.example.com/shop/web@sha256:d7bdd545f09d8a73c2b990337c8211d708a04ccd9748627685e4fc79cc038039"}, ""},
		{"no archive", func(t *testing.T, dir string) *engine.Runbook { return &engine.Runbook{} },
			func(dir string) engine.EnvSpec {
				return engine.EnvSpec{Name: "production", RehearsalArchive: filepath.Join(dir, "missing")}
			},
			nil, "rehearsal archive"},
		{"not named", func(t *testing.T, dir string) *engine.Runbook { return &engine.Runbook{} },
			func(dir string) engine.EnvSpec { return engine.EnvSpec{Name: "production"} },
			nil, "names no rehearsal_archive"},
		{"tampered", func(t *testing.T, dir string) *engine.Runbook {
			rb := rehearsalArchive(t, dir, "completed")
			p := filepath.Join(dir, archive.RecordsFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), `"outcome":"completed"`, `"outcome":"complete!"`, 1)), 0o644)
			return rb
		}, func(dir string) engine.EnvSpec { return engine.EnvSpec{Name: "production", RehearsalArchive: dir} },
			nil, "record 2: content does not match its digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			rb := tt.setup(t, dir)
			f := Rehearsal(rb, tt.env(dir), now)
			if f.Source != "archive" || !f.CollectedAt.Equal(now) {
				t.Errorf("provenance = %s at %v", f.Source, f.CollectedAt)
			}
			if tt.wantErr != "" {
				if !strings.Contains(f.Err, tt.wantErr) {
					t.Fatalf("Err = %q, want it to contain %q", f.Err, tt.wantErr)
				}
				return
			}
			if f.Err != "" {
				t.Fatalf("Err = %q", f.Err)
			}
			for k, v := range tt.want {
				if f.Data[k] != v {
					t.Errorf("%s = %v, want %v", k, f.Data[k], v)
				}
			}
			if len(f.Data) != len(tt.want) {
				t.Errorf("data = %v, want exactly %v", f.Data, tt.want)
			}
		})
	}
}

func TestFromArchiveEvents(t *testing.T) {
	dir := t.TempDir()
	rehearsalArchive(t, dir, "")
	a, err := archive.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	priv, _, err := archive.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	a.SignWith(priv)
	for _, ev := range []archive.Event{
		{Type: archive.EventNotification, At: "2026-11-24T09:00:00Z", Data: map[string]any{"channel": "launch-channel", "event": "announced", "status_code": 200, "delivered": true}},
		{Type: archive.EventHook, At: "2026-11-24T09:50:00Z", Data: map[string]any{"name": "deploy", "exit_code": 1, "timed_out": false, "finished_at": "2026-11-24T09:51:00Z"}},
		{Type: archive.EventAttestation, At: "2026-11-24T10:05:00Z", Data: map[string]any{"kind": "call", "by": "Dana Ortiz", "call": "hold"}},
	} {
		if _, err := a.AppendEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 11, 24, 10, 10, 0, 0, time.UTC)
	facts, err := FromArchive(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	att := facts["attestations"].Data["items"].([]any)[0].(map[string]any)
	if att["call"] != "hold" || att["at"] != "2026-11-24T10:05:00Z" || att["signed_by"] != archive.Fingerprint(priv.Public().(ed25519.PublicKey)) {
		t.Errorf("attestation item = %v", att)
	}
	if d := facts["notifications"]; d.Source != "notify" || len(d.Data["deliveries"].([]any)) != 1 {
		t.Errorf("notifications = %+v", d)
	}
	if d := facts["deployment"]; d.Source != "deploy" || d.Data["status"] != "failed" || d.Data["finished_at"] != "2026-11-24T09:51:00Z" {
		t.Errorf("deployment = %+v", d)
	}
	if h := facts["hooks"]; len(h.Data["runs"].([]any)) != 1 {
		t.Errorf("hooks = %+v", h)
	}
	// The facts pass the facts schema as a facts file holding them.
	b, err := json.Marshal(map[string]any{"facts": engine.FactsMap(facts)})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "facts.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.LoadFacts(p); err != nil {
		t.Fatalf("archived event facts fail the schema: %v", err)
	}
}

package launch

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func TestBlueGreen(t *testing.T) {
	t.Parallel()
	warm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(warm.Close)
	cold := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(cold.Close)
	bg := "  kind: blue-green"
	tests := []struct {
		name     string
		health   string
		hooks    map[string]int
		window   string
		exit     int
		ran      []string
		switchTo []string
	}{
		{name: "switches and completes", health: warm.URL + "/healthz", hooks: map[string]int{HookDeploy: 0, HookSmoke: 0, HookSwitch: 0},
			exit: engine.ExitGo, ran: []string{"deploy ", "smoke ", "switch "}, switchTo: []string{"canary"}},
		{name: "cold old colour: stop before the switch", health: cold.URL + "/healthz", hooks: map[string]int{HookDeploy: 0, HookSmoke: 0, HookSwitch: 0},
			exit: engine.ExitNoGo, ran: []string{"deploy ", "smoke "}},
		{name: "rollback switches back", health: warm.URL + "/healthz", hooks: map[string]int{HookDeploy: 0, HookSmoke: 0, HookSwitch: 0},
			window: "latency-regression__window", exit: engine.ExitRollback, ran: []string{"deploy ", "smoke ", "switch ", "switch "}, switchTo: []string{"canary", "stable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, rbParams{Hooks: tt.hooks, Strategy: bg, OldHealth: tt.health})
			if tt.window != "" {
				f.files["window"] = tt.window
			}
			res, err := f.runner(f.realistic()).Launch(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tt.exit {
				t.Fatalf("exit %d (%s), want %d\n%s", res.ExitCode, res.Reason, tt.exit, f.out)
			}
			if got := f.hookLog(); !slices.Equal(got, tt.ran) {
				t.Errorf("hooks %q, want %q", got, tt.ran)
			}
			if got := switchTargets(t, f); !slices.Equal(got, tt.switchTo) {
				t.Errorf("switched to %q, want %q", got, tt.switchTo)
			}
			if w := f.events(EventWarmCheck); len(w) != 1 || w[0]["warm"] != (tt.health == warm.URL+"/healthz") {
				t.Errorf("warm checks %v", w)
			}
		})
	}
}

// switchTargets reads GATEKEEPER_SWITCH_TO of each switch hook from the hook log.
func switchTargets(t *testing.T, f *fixture) []string {
	var out []string
	for _, line := range readLines(t, f.log) {
		for _, field := range splitFields(line) {
			if v, ok := cutPrefix(field, "switch="); ok && v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

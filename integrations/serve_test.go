package integrations

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/live"
	"github.com/gatekeeper-dev/gatekeeper/server"
	"github.com/gatekeeper-dev/gatekeeper/server/servertest"
)

const (
	token       = "integration-token-3e5a7c9b1d2f"
	example     = "../testdata/example"
	scenarioDir = example + "/scenarios"
)

// scenario is one entry of testdata/example/scenarios/expected.json.
type scenario struct {
	File     string         `json:"file"`
	Gate     string         `json:"gate"`
	Step     *int           `json:"step"`
	Runbook  string         `json:"runbook"`
	Decision engine.Outcome `json:"decision"`
}

func scenarios(t *testing.T) []scenario {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(scenarioDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []scenario
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) < 20 {
		t.Fatalf("expected.json lists %d scenarios, want the whole example launch", len(out))
	}
	return out
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// start runs gatekeeper serve on the example runbooks, named "shop" and "shop-edited" as a
// deployment would name them, over a real HTTP listener on loopback.
func start(t *testing.T, opts ...server.Option) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	for from, to := range map[string]string{"runbook.yaml": "shop.yaml", "runbook-edited.yaml": "shop-edited.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, to), read(t, filepath.Join(example, from)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := []server.Option{
		server.WithRunbookFiles(filepath.Join(dir, "shop.yaml"), filepath.Join(dir, "shop-edited.yaml")),
		server.WithToken(token),
		server.WithLive(servertest.LiveFrom(t, "", nil)),
	}
	s, err := server.New(context.Background(), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

func runbookName(file string) string {
	return strings.TrimSuffix(strings.Replace(file, "runbook", "shop", 1), ".yaml")
}

// docsYAML returns the ```yaml blocks of docs/serve.md whose kind is kind, decoded strictly
// into out's type by the caller: the documentation is what is tested.
func docsYAML(t *testing.T, kind string) []byte {
	t.Helper()
	md := read(t, "../docs/serve.md")
	re := regexp.MustCompile("(?s)```yaml\n(.*?)```")
	for _, m := range re.FindAllSubmatch(md, -1) {
		if bytes.Contains(m[1], []byte("\nkind: "+kind+"\n")) {
			return m[1]
		}
	}
	t.Fatalf("docs/serve.md has no %s", kind)
	return nil
}

// strict decodes YAML into v, refusing unknown fields: a typo in the docs fails.
func strict(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(b, v); err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
}

// launchDay plays a launch against a server: the wall clock and what the live systems
// report are set step by step, as they would be at each moment of the example launch.
type launchDay struct {
	mu    sync.Mutex
	at    time.Time
	facts map[string]any
}

// set moves the clock to at and makes the live systems report the facts of a scenario file
// ("" for nothing at all).
func (d *launchDay) set(t *testing.T, at, file string) {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, at)
	if err != nil {
		t.Fatal(err)
	}
	facts := map[string]any{}
	if file != "" {
		ff, err := engine.LoadFacts(filepath.Join(scenarioDir, file))
		if err != nil {
			t.Fatal(err)
		}
		facts = ff.Facts
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.at, d.facts = tm, facts
}

func (d *launchDay) now() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.at
}

// Collect implements engine.Collector with the facts set last.
func (d *launchDay) Collect(ctx context.Context, req engine.Request) map[string]engine.Fact {
	d.mu.Lock()
	facts := d.facts
	d.mu.Unlock()
	return servertest.Collector{Facts: facts}.Collect(ctx, req)
}

// options serve the launch day: its clock, its live systems, an archive.
func (d *launchDay) options(t *testing.T) []server.Option {
	return []server.Option{
		server.WithClock(d.now),
		server.WithArchive(t.TempDir()),
		server.WithLive(live.Options{Deadline: 20 * time.Second, Sources: []engine.Source{{Name: "launch-day", Collector: d, Timeout: 20 * time.Second}}}),
	}
}

// nowOf is the now of a scenario file.
func nowOf(t *testing.T, file string) string {
	t.Helper()
	ff, err := engine.LoadFacts(filepath.Join(scenarioDir, file))
	if err != nil {
		t.Fatal(err)
	}
	return ff.Now
}

package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatekeeper-dev/gatekeeper/schemas"
)

// everyFact is a valid facts document with every fact of #FactSet and every field the
// schema constrains, so that mutations of it reach every check of factsfast.go.
const everyFact = `{
  "gate": "canary", "step": 25, "environment": "production", "launch_id": "shop-2.4.0-production",
  "now": "2026-11-25T14:05:00Z", "cutover_at": "2026-11-25T13:20:00Z", "step_started_at": null,
  "runbook": {"service": "shop"},
  "facts": {
    "signoff": {"source": "gatekeeper", "collected_at": "2026-11-25T14:00:00Z", "digest": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
    "uat": {"source": "uat", "url": "http://uat/approval", "collected_at": "2026-11-25T14:00:00Z", "duration_ms": 3.5,
      "approved": {"version": "2.4.0", "commit": "abc", "image": "img"}, "result": "approved"},
    "rehearsal": {"source": "archive", "path": "archive/staging", "collected_at": "2026-11-25T14:00:00Z",
      "launch_id": "shop-2.4.0-staging", "environment": "staging", "commit": "abc", "image": "img", "outcome": "go", "finished_at": "2026-11-24T10:00:00+01:00"},
    "notifications": {"source": "notify", "path": "archive", "collected_at": "2026-11-25T14:00:00Z",
      "deliveries": [{"channel": "slack", "event": "announce", "status_code": 200, "delivered": true, "at": "2026-11-25T13:00:00Z"}]},
    "attestations": {"source": "archive", "path": "archive", "collected_at": "2026-11-25T14:00:00Z",
      "items": [{"kind": "manual_check", "at": "2026-11-25T13:10:00Z", "by": "ana", "check": "pager", "result": "pass", "critical": true, "note": "ok", "signed_by": "key"},
                {"kind": "call", "at": "2026-11-25T13:11:00Z", "by": "bo", "call": "resume"}]},
    "hooks": {"source": "archive", "path": "archive", "collected_at": "2026-11-25T14:00:00Z",
      "runs": [{"name": "warm", "step": null, "exit_code": 0, "timed_out": false, "started_at": "2026-11-25T13:00:00Z", "finished_at": "2026-11-25T13:00:05Z", "output_tail": "done"},
               {"name": "drain", "step": 25, "exit_code": -1}]},
    "production_error_rate": {"source": "prometheus", "query": "q", "collected_at": "2026-11-25T14:00:00Z", "value": "0.0213"},
    "integrity": {"source": "sql", "query": "select", "collected_at": "2026-11-25T14:00:00Z", "error": "",
      "checks": [{"name": "orphans", "violations": 0, "sample": [{"id": 1}]}], "migrations": {"tool": "goose", "version": 42, "dirty": false}},
    "integrity_baseline": {"source": "archive", "path": "archive", "collected_at": "2026-11-25T14:00:00Z",
      "checks": [{"name": "orphans", "violations": 2}], "migrations": {"tool": "flyway", "version": "V42"}},
    "deployment": {"source": "deploy", "url": "http://deploy", "collected_at": "2026-11-25T14:00:00Z", "status": "succeeded", "finished_at": "2026-11-25T13:00:00Z", "detail": "rolled"},
    "versions": {"source": "http", "url": "http://shop/version", "collected_at": "2026-11-25T14:00:00Z",
      "instances": [{"name": "a", "url": "http://a/version", "status_code": 200, "version": "2.4.0", "commit": "abc", "image": "img", "error": ""}]},
    "health": {"source": "http", "url": "http://shop/health", "collected_at": "2026-11-25T14:00:00Z",
      "instances": [{"name": "a", "url": "http://a/health", "status_code": 200, "status": "pass"}]},
    "smoke": {"source": "smoke", "path": "smoke.xml", "collected_at": "2026-11-25T14:00:00Z", "started_at": "2026-11-25T13:00:00Z", "finished_at": "2026-11-25T13:01:00Z",
      "tests": [{"name": "checkout", "suite": "core", "status": "passed", "duration_ms": 120, "message": ""}], "errors": ["none"]},
    "integrations": {"source": "http", "url": "http://pay/health", "collected_at": "2026-11-25T14:00:00Z",
      "items": [{"name": "payments", "probe": {"ok": true, "status_code": 200, "at": "2026-11-25T14:00:00Z", "error": ""},
                 "availability": {"query": "up", "samples": [[1795615170, "1"], [1795615185.5, "NaN"], [1795615200, "+Inf"]]}}]},
    "traffic": {"source": "prometheus", "query": "rate", "collected_at": "2026-11-25T14:00:00Z", "value": "12.5"},
    "error_rate": {"source": "prometheus", "query": "errors", "collected_at": "2026-11-25T14:00:00Z",
      "start": "2026-11-25T13:55:00Z", "end": "2026-11-25T14:05:00Z", "step": "15s", "samples": [[1795615170, "0.001"], [1795615185, "-Inf"]]},
    "latency_p95": {"source": "prometheus", "query": "latency", "collected_at": "2026-11-25T14:00:00Z", "step": "1m30s", "samples": [[1795615170, "1e-3"]]},
    "request_count": {"source": "prometheus", "query": "count", "collected_at": "2026-11-25T14:00:00Z", "value": ".5"},
    "history": {"source": "archive", "path": "archive", "collected_at": "2026-11-25T14:00:00Z",
      "records": [{"now": "2026-11-25T14:00:00Z", "gate": "canary", "step": 5, "checks": [{"rule": "error_rate", "status": "unknown"}]},
                  {"now": "2026-11-25T13:00:00Z", "gate": "pre-cutover", "step": null}]},
    "custom": {"queue_depth": {"source": "sql", "query": "q", "collected_at": "2026-11-25T14:00:00Z", "value": 3}, "plain": {"source": "gatekeeper", "collected_at": "2026-11-25T14:00:00Z"}}
  }
}`

// cueParse is ParseFacts with CUE alone: the verdict factsAccepted must never contradict.
func cueParse(path string, data []byte) (*FactsFile, error) {
	defer func() { fastFacts = true }()
	fastFacts = false
	return ParseFacts(path, data)
}

// checkSound fails when factsAccepted accepts data that CUE rejects, or when ParseFacts
// answers otherwise than CUE alone does. It reports whether factsAccepted accepted.
func checkSound(t *testing.T, path string, data []byte) bool {
	t.Helper()
	tree, ok := decodeJSON(data)
	if !ok || !factsAccepted(tree) {
		if _, fast := AcceptFacts(path, data); fast {
			t.Fatalf("%s: AcceptFacts accepts what factsAccepted does not", path)
		}
		return false
	}
	want, werr := cueParse(path, data)
	got, gerr := ParseFacts(path, data)
	if fmt.Sprint(gerr) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: ParseFacts differs from CUE alone\nfast: %v %#v\ncue:  %v %#v\n%s", path, gerr, got, werr, want, data)
	}
	// #Facts accepts numbers beyond a double, which ParseFacts then refuses (the fast path
	// gives way to CUE for the message); any other rejection contradicts factsAccepted.
	if _, doubles := jsonFloats(tree); werr != nil && doubles {
		t.Fatalf("%s: accepted in Go, rejected by CUE:\n%v\n%s", path, werr, data)
	}
	// What serve reads a body with: the same facts, or nothing.
	if ff, fast := AcceptFacts(path, data); fast != (werr == nil) || fast && !reflect.DeepEqual(ff, want) {
		t.Fatalf("%s: AcceptFacts = %v, %#v; CUE: %v, %#v", path, fast, ff, werr, want)
	}
	return werr == nil
}

// TestFactsFastSound runs every JSON file of the repository's test data and examples,
// facts or not, valid or not: what factsAccepted accepts, CUE accepts; and the recorded
// scenarios, which CUE accepts, take the fast path (else serve is slow again).
func TestFactsFastSound(t *testing.T) {
	var files []string
	for _, root := range []string{"testdata", "../testdata", "../server/testdata", "../e2e/testdata", "../examples", "../collectors"} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
				files = append(files, p)
			}
			return nil
		})
	}
	if len(files) < 40 {
		t.Fatalf("found only %d JSON files", len(files))
	}
	accepted := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fast := checkSound(t, f, data)
		if fast {
			accepted++
		}
		if strings.Contains(f, "scenarios/") && strings.Contains(f, "__") && !fast {
			if _, err := cueParse(f, data); err == nil {
				t.Errorf("%s: CUE accepts it, the fast check does not", f)
			}
		}
	}
	if !checkSound(t, "every-fact.json", []byte(everyFact)) {
		t.Errorf("everyFact not accepted in Go: %v", func() error { _, err := cueParse("every-fact.json", []byte(everyFact)); return err }())
	}
	t.Logf("%d JSON files, %d accepted in Go", len(files), accepted)
}

// mutated returns everyFact with the value at path (dot-separated; list indexes as
// numbers) replaced by v; a field of an object is deleted by deleted and renamed by renamed.
func mutated(t *testing.T, path string, v any) []byte {
	t.Helper()
	doc := decodeNumbers(t, []byte(everyFact))
	keys := strings.Split(path, ".")
	var parent any = doc
	for _, k := range keys[:len(keys)-1] {
		parent = childOf(parent, k)
		if parent == nil {
			t.Fatalf("no %s in everyFact", path)
		}
	}
	last := keys[len(keys)-1]
	switch p := parent.(type) {
	case map[string]any:
		switch x := v.(type) {
		case deletedT:
			delete(p, last)
		case renamed:
			p[string(x)] = p[last]
			delete(p, last)
		default:
			p[last] = v
		}
	case []any:
		p[indexOf(t, last)] = v
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type deletedT struct{}

// renamed renames the field instead of replacing its value.
type renamed string

var deleted = deletedT{}

func decodeNumbers(t testing.TB, data []byte) any {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func childOf(v any, k string) any {
	switch x := v.(type) {
	case map[string]any:
		return x[k]
	case []any:
		for i := range x {
			if k == strconv.Itoa(i) {
				return x[i]
			}
		}
	}
	return nil
}

func indexOf(t *testing.T, s string) int {
	i, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("list index %q", s)
	}
	return i
}

// TestFactsFastRejects lists mutations of a valid document that CUE rejects; none may be
// accepted in Go. Each case first checks that CUE does reject it, so the table cannot rot
// into cases that prove nothing.
func TestFactsFastRejects(t *testing.T) {
	n := func(s string) json.Number { return json.Number(s) }
	tests := []struct {
		name, path string
		value      any
	}{
		{"facts missing", "facts", deleted},
		{"facts not an object", "facts", []any{}},
		{"unknown top-level field", "gate", renamed("gates")},
		{"unknown gate", "gate", "windows"},
		{"step as string", "step", "25"},
		{"step as float", "step", n("25.0")},
		{"step zero", "step", n("0")},
		{"step above 100", "step", n("101")},
		{"step negative", "step", n("-5")},
		{"unknown environment", "environment", "prod"},
		{"launch id number", "launch_id", n("1")},
		{"now not a time", "now", "2026-11-25 14:05:00"},
		{"now without zone", "now", "2026-11-25T14:05:00"},
		{"now impossible date", "now", "2026-02-30T14:05:00Z"},
		{"now null", "now", nil},
		{"cutover number", "cutover_at", n("1795615170")},
		{"runbook a list", "runbook", []any{}},
		{"runbook a string", "runbook", "shop"},
		{"unknown fact", "facts.traffic", renamed("trafic")},
		{"fact null", "facts.traffic", nil},
		{"fact a list", "facts.traffic", []any{}},
		{"source missing", "facts.traffic.source", deleted},
		{"wrong source", "facts.traffic.source", "http"},
		{"source not a string", "facts.traffic.source", n("1")},
		{"collected_at missing", "facts.traffic.collected_at", deleted},
		{"collected_at bad", "facts.traffic.collected_at", "yesterday"},
		{"nothing asked", "facts.traffic.query", deleted},
		{"query null", "facts.traffic.query", nil},
		{"url number", "facts.deployment.url", n("1")},
		{"path bool", "facts.smoke.path", true},
		{"negative duration_ms", "facts.uat.duration_ms", n("-1")},
		{"duration_ms string", "facts.uat.duration_ms", "3"},
		{"error not a string", "facts.integrity.error", false},
		{"value NaN lowercase", "facts.traffic.value", "nan"},
		{"value Infinity", "facts.traffic.value", "Infinity"},
		{"value a number", "facts.traffic.value", n("12.5")},
		{"value with space", "facts.traffic.value", " 1"},
		{"value empty", "facts.traffic.value", ""},
		{"value lone dot", "facts.request_count.value", "."},
		{"value bad exponent", "facts.production_error_rate.value", "1e"},
		{"value hex", "facts.production_error_rate.value", "0x1"},
		{"value trailing newline", "facts.production_error_rate.value", "1\n"},
		{"sample value number", "facts.error_rate.samples.0", []any{n("1795615170"), n("0.001")}},
		{"sample time string", "facts.error_rate.samples.0", []any{"1795615170", "0.001"}},
		{"sample too short", "facts.error_rate.samples.0", []any{n("1795615170")}},
		{"sample too long", "facts.error_rate.samples.0", []any{n("1"), "1", "1"}},
		{"sample an object", "facts.error_rate.samples.0", map[string]any{}},
		{"samples an object", "facts.error_rate.samples", map[string]any{}},
		{"availability sample NaN word", "facts.integrations.items.0.availability.samples.1", []any{n("1"), "not a number"}},
		{"availability query number", "facts.integrations.items.0.availability.query", n("1")},
		{"series start bad", "facts.error_rate.start", "soon"},
		{"series step bad", "facts.error_rate.step", "15"},
		{"series step days", "facts.latency_p95.step", "1d"},
		{"series step negative", "facts.latency_p95.step", "-15s"},
		{"series step overflow", "facts.latency_p95.step", "99999999999999999999h"},
		{"digest uppercase", "facts.signoff.digest", "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"},
		{"digest short", "facts.signoff.digest", "sha256:0123"},
		{"signoff wrong source", "facts.signoff.source", "archive"},
		{"approved a string", "facts.uat.approved", "2.4.0"},
		{"approved version number", "facts.uat.approved.version", n("2")},
		{"rehearsal finished_at bad", "facts.rehearsal.finished_at", "2026-11-24"},
		{"delivery status_code float", "facts.notifications.deliveries.0.status_code", n("200.0")},
		{"delivery delivered string", "facts.notifications.deliveries.0.delivered", "true"},
		{"deliveries an object", "facts.notifications.deliveries", map[string]any{}},
		{"attestation kind", "facts.attestations.items.0.kind", "check"},
		{"attestation result", "facts.attestations.items.0.result", "passed"},
		{"attestation call", "facts.attestations.items.1.call", "stop"},
		{"attestation critical string", "facts.attestations.items.0.critical", "yes"},
		{"hook step string", "facts.hooks.runs.1.step", "25"},
		{"hook exit code float", "facts.hooks.runs.0.exit_code", n("0.5")},
		{"violations negative", "facts.integrity.checks.0.violations", n("-1")},
		{"violations float", "facts.integrity.checks.0.violations", n("1.0")},
		{"violations exponent", "facts.integrity_baseline.checks.0.violations", n("2e0")},
		{"check sample an object", "facts.integrity.checks.0.sample", map[string]any{}},
		{"migrations version float", "facts.integrity.migrations.version", n("4.2")},
		{"migrations dirty string", "facts.integrity.migrations.dirty", "no"},
		{"integrity wrong source", "facts.integrity.source", "archive"},
		{"baseline wrong source", "facts.integrity_baseline.source", "sql"},
		{"deployment status", "facts.deployment.status", "done"},
		{"version instance status_code string", "facts.versions.instances.0.status_code", "200"},
		{"health status", "facts.health.instances.0.status", "ok"},
		{"smoke test status", "facts.smoke.tests.0.status", "passing"},
		{"smoke test negative duration", "facts.smoke.tests.0.duration_ms", n("-0.5")},
		{"smoke errors numbers", "facts.smoke.errors.0", n("1")},
		{"probe ok string", "facts.integrations.items.0.probe.ok", "true"},
		{"probe at bad", "facts.integrations.items.0.probe.at", "now"},
		{"history gate", "facts.history.records.0.gate", "canary-5"},
		{"history check status", "facts.history.records.0.checks.0.status", "skip"},
		{"history now bad", "facts.history.records.1.now", "2026-11-25T25:00:00Z"},
		{"custom unknown source", "facts.custom.queue_depth.source", "dns"},
		{"custom without collected_at", "facts.custom.plain.collected_at", deleted},
		{"custom fact a number", "facts.custom.plain", n("1")},
		{"custom not an object", "facts.custom", []any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := mutated(t, tt.path, tt.value)
			if _, err := cueParse("mutated.json", data); err == nil {
				t.Fatalf("CUE accepts this mutation: the case proves nothing\n%s", data)
			}
			tree, ok := decodeJSON(data)
			if !ok {
				t.Fatalf("not decoded")
			}
			if factsAccepted(tree) {
				t.Errorf("accepted in Go, rejected by CUE")
			}
		})
	}
}

// TestFactsFastAccepts lists documents CUE accepts that the fast check must accept too, as
// collectors write them: without it they would silently take the slow path.
func TestFactsFastAccepts(t *testing.T) {
	n := func(s string) json.Number { return json.Number(s) }
	tests := []struct {
		name, path string
		value      any
	}{
		{"as is", "gate", "canary"},
		{"extra field in a fact", "facts.traffic.labels", map[string]any{"job": "shop"}},
		{"extra field in a closed-looking fact", "facts.deployment.revision", n("3")},
		{"extra field in signoff", "facts.signoff.by", "ana"},
		{"extra field in a list item", "facts.health.instances.0.latency_ms", n("12")},
		{"underscore field", "facts.traffic._meta", "x"},
		{"time with offset", "facts.traffic.collected_at", "2026-11-25T14:00:00.123+01:00"},
		{"no step", "step", deleted},
		{"null step", "step", nil},
		{"null cutover", "cutover_at", nil},
		{"huge sample time", "facts.error_rate.samples.0", []any{n("1e300"), "1"}},
		{"sample exponent value", "facts.error_rate.samples.0", []any{n("1"), "-2.5E+10"}},
		{"sample trailing dot", "facts.error_rate.samples.0", []any{n("1"), "5."}},
		{"big violations", "facts.integrity.checks.0.violations", n("12345678901234567890")},
		{"url only", "facts.traffic.url", "http://prom"},
		{"error set", "facts.traffic.error", "timeout"},
		{"empty facts", "facts", map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := mutated(t, tt.path, tt.value)
			if _, err := cueParse("mutated.json", data); err != nil {
				t.Fatalf("CUE rejects this document: %v", err)
			}
			if !checkSound(t, "mutated.json", data) {
				t.Errorf("CUE accepts this document, the fast check does not")
			}
		})
	}
}

// sampleValueRe is #SampleValue's pattern, read from the schema itself.
var sampleValueRe = func() *regexp.Regexp {
	src, err := fs.ReadFile(schemas.FS, "facts.cue")
	if err != nil {
		panic(err)
	}
	m := regexp.MustCompile(`(?m)^#SampleValue: =~"(.*?)" \|`).FindSubmatch(src)
	if m == nil {
		panic("no #SampleValue in facts.cue")
	}
	pat := strings.ReplaceAll(string(m[1]), `\\`, `\`)
	return regexp.MustCompile(pat)
}()

func TestSampleValueMatchesSchema(t *testing.T) {
	for _, s := range []string{
		"0", "0.0213", "+1", "-1", "1.", ".5", "-.5", "1e5", "1E-5", "1.5e+3", "NaN", "+Inf", "-Inf", "Inf", "+NaN",
		"", ".", "+", "-", "e5", "1e", "1e+", "1.5.5", "nan", "inf", "Infinity", " 1", "1 ", "1\n", "0x10", "1_000", "--1", "+-1", "NaNa", "Inf1",
	} {
		if got, want := sampleValue(s), sampleValueRe.MatchString(s); got != want {
			t.Errorf("sampleValue(%q) = %v, the schema's pattern says %v", s, got, want)
		}
	}
}

func FuzzSampleValue(f *testing.F) {
	for _, s := range []string{"0.0213", "NaN", "-Inf", ".5e-3", "1e", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := sampleValue(s), sampleValueRe.MatchString(s); got != want {
			t.Fatalf("sampleValue(%q) = %v, the schema's pattern says %v", s, got, want)
		}
	})
}

// factsSchemaDigest is the digest of what factsfast.go mirrors. When this test fails, review
// factsfast.go against schemas/facts.cue (and #Time, #Duration, #DurationSyntax and #Digest
// of runbook.cue), extend the tables of this file for what changed, then update the digest.
const factsSchemaDigest = "a91cbb8844583e3f8edb8cd21e75e38ba656ace8f59ce2507536a78907c32be4"

func TestFactsFastSchemaDigest(t *testing.T) {
	facts, err := fs.ReadFile(schemas.FS, "facts.cue")
	if err != nil {
		t.Fatal(err)
	}
	runbook, err := fs.ReadFile(schemas.FS, "runbook.cue")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	h.Write(facts)
	borrowed := regexp.MustCompile(`(?m)^#(Time|Duration|DurationSyntax|Digest):.*$`).FindAll(runbook, -1)
	if len(borrowed) != 4 {
		t.Fatalf("found %d of the 4 definitions facts.cue borrows from runbook.cue", len(borrowed))
	}
	for _, b := range borrowed {
		h.Write([]byte{'\n'})
		h.Write(b)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != factsSchemaDigest {
		t.Errorf("the facts schema changed (digest %s): review engine/factsfast.go against it, "+
			"extend its tests for what changed, then set factsSchemaDigest in engine/factsfast_test.go", got)
	}
}

// FuzzFactsFastSound mutates valid facts documents (types, deleted and renamed keys, sample
// values, sources, times, numbers, unknown fact names, extra fields) and checks that what
// the fast check accepts CUE accepts, with the same facts.
func FuzzFactsFastSound(f *testing.F) {
	seeds := [][]byte{[]byte(everyFact)}
	for _, p := range []string{"testdata/facts/valid.json", "../testdata/example/scenarios/healthy__pre-cutover.json",
		"../testdata/example/scenarios/healthy__post-deploy.json", "../testdata/example/scenarios/post-rollback-failed__post-rollback.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	f.Add(uint8(0), []byte{})
	f.Add(uint8(0), []byte{1, 7, 3, 0, 2, 5})
	f.Add(uint8(0), []byte{1, 14, 1, 0, 0, 1, 9})
	f.Add(uint8(1), []byte{1, 3, 2, 1, 4, 4})
	f.Add(uint8(2), []byte{2, 9, 0, 3, 3, 11, 2})
	f.Fuzz(func(t *testing.T, seed uint8, ops []byte) {
		doc := decodeNumbers(t, seeds[int(seed)%len(seeds)])
		doc = mutate(doc, ops)
		data, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		checkSound(t, "fuzz.json", data)
	})
}

// palette is what mutate puts in place of values and keys.
var palette = []any{
	nil, true, false, "", "x", "NaN", "nan", "+Inf", "-Inf", "Infinity", "0.5", "1e", ".5", "5.", " 1",
	"2026-11-25T14:00:00Z", "2026-11-25T14:00:00", "2026-02-30T00:00:00Z", "2026-11-25T14:00:00,5+01:00",
	"15s", "1h30m", "-5m", "1d", "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"prometheus", "http", "smoke", "sql", "uat", "archive", "notify", "deploy", "gatekeeper", "dns",
	"canary", "window", "pass", "fail", "unknown", "passed", "succeeded", "warn", "manual_check", "call", "hold", "production",
	json.Number("0"), json.Number("1"), json.Number("-1"), json.Number("-0"), json.Number("25"), json.Number("101"),
	json.Number("1.5"), json.Number("3.0"), json.Number("1e2"), json.Number("-0.0"), json.Number("1e400"), json.Number("-1e-400"),
	json.Number("123456789012345678901234567890"), json.Number("-123456789012345678901234567890"),
	map[string]any{}, []any{}, []any{json.Number("1"), "NaN"}, []any{[]any{json.Number("1"), "1"}}, []any{"1", json.Number("1")},
	map[string]any{"source": "sql", "query": "q", "collected_at": "2026-11-25T14:00:00Z"},
}

// boundaries are numbers at the edges of int, >=0, >=1 and <=100.
var boundaries = []any{
	json.Number("0"), json.Number("-0"), json.Number("1"), json.Number("-1"), json.Number("100"), json.Number("101"),
	json.Number("1.0"), json.Number("1e0"), json.Number("0.0"), json.Number("-0.0"), json.Number("99.5"),
	json.Number("9223372036854775808"), json.Number("-9223372036854775809"), json.Number("1e-400"),
}

// names are keys mutate renames keys to or adds: fact names, schema fields, and strangers.
var names = []string{
	"source", "collected_at", "query", "url", "path", "duration_ms", "error", "value", "samples", "step", "start",
	"traffic", "error_rate", "custom", "signoff", "history", "integrity", "gate", "now", "runbook", "facts",
	"status", "status_code", "violations", "version", "digest", "items", "instances", "x", "_x", "#x", "",
}

// mutate applies up to four mutations chosen by ops: each picks a place in the document,
// then replaces, deletes, renames or adds something there.
func mutate(doc any, ops []byte) any {
	next := func() int {
		if len(ops) == 0 {
			return 0
		}
		b := int(ops[0])
		ops = ops[1:]
		return b
	}
	for range 4 {
		if len(ops) == 0 {
			break
		}
		// Every place is as likely as any other, however deep: a sample as much as a fact.
		locs := locations(doc, func(n any) { doc = n }, location{idx: -1}, nil)
		where := next()<<8 | next()
		action, pick := next()%6, next()
		if action == 5 {
			// Numbers are few among the values: look among them alone.
			nums := slices.DeleteFunc(slices.Clone(locs), func(l location) bool { _, ok := l.cur.(json.Number); return !ok })
			if len(nums) > 0 {
				locs = nums
			}
		}
		at := locs[where%len(locs)]
		parent, key, idx, cur := at.parent, at.key, at.idx, at.cur
		value := clone(palette[pick%len(palette)])
		switch action {
		case 0: // replace the value reached
			switch p := parent.(type) {
			case map[string]any:
				p[key] = value
			case []any:
				p[idx] = value
			default:
				doc = value
			}
		case 1: // delete it
			if p, ok := parent.(map[string]any); ok {
				delete(p, key)
			} else if p, ok := parent.([]any); ok {
				at.setParent(slices.Delete(slices.Clone(p), idx, idx+1))
			}
		case 2: // rename it
			if p, ok := parent.(map[string]any); ok {
				v := p[key]
				delete(p, key)
				p[names[pick%len(names)]] = v
			}
		case 3: // add a field or an element to what was reached
			switch x := cur.(type) {
			case map[string]any:
				x[names[pick%len(names)]] = clone(palette[next()%len(palette)])
			case []any:
				x = append(x, value)
				if p, ok := parent.(map[string]any); ok {
					p[key] = x
				} else if p, ok := parent.([]any); ok {
					p[idx] = x
				}
			}
		case 5: // a number at a boundary of the schema's ranges, or of int, in place of a number
			v := clone(boundaries[pick%len(boundaries)])
			switch p := parent.(type) {
			case map[string]any:
				p[key] = v
			case []any:
				p[idx] = v
			}
		case 4: // put a string where a number was and the other way round
			var v any
			switch x := cur.(type) {
			case json.Number:
				v = string(x)
			case string:
				v = json.Number(x)
				if _, err := json.Marshal(v); err != nil {
					v = json.Number("7")
				}
			default:
				v = value
			}
			switch p := parent.(type) {
			case map[string]any:
				p[key] = v
			case []any:
				p[idx] = v
			}
		}
	}
	return doc
}

// location is a value in a document: where it sits (parent[key] or parent[idx]) and how
// to put another value in place of its parent, which deleting a list element needs.
type location struct {
	parent    any
	key       string
	idx       int
	cur       any
	setParent func(any)
}

// locations lists every value of v, in a fixed order (object keys sorted); set replaces v.
func locations(v any, set func(any), at location, out []location) []location {
	at.cur = v
	out = append(out, at)
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			out = locations(x[k], func(n any) { x[k] = n }, location{parent: x, key: k, idx: -1, setParent: set}, out)
		}
	case []any:
		for i, e := range x {
			out = locations(e, func(n any) { x[i] = n }, location{parent: x, idx: i, setParent: set}, out)
		}
	}
	return out
}

// clone copies palette values, which mutations change in place.
func clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = clone(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = clone(e)
		}
		return l
	}
	return v
}

// TestAcceptFactsConcurrent backs the doc comment: serve calls AcceptFacts from every
// request's goroutine at once, outside its pool of Validators (run with -race).
func TestAcceptFactsConcurrent(t *testing.T) {
	data, err := os.ReadFile("../testdata/example/scenarios/healthy__canary-25.json")
	if err != nil {
		t.Fatal(err)
	}
	want, ok := AcceptFacts("canary.json", data)
	if !ok {
		t.Fatal("not accepted")
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				if got, ok := AcceptFacts("canary.json", data); !ok || !reflect.DeepEqual(got, want) {
					t.Error("concurrent AcceptFacts answered differently")
					return
				}
			}
		})
	}
	wg.Wait()
}

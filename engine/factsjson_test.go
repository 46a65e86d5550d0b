package engine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
)

// parseBothWays parses data with and without the fast path; both must agree exactly, on
// the facts and on every error message.
func parseBothWays(t *testing.T, path string, data []byte) {
	t.Helper()
	defer func() { fastFacts = true }()
	fastFacts = true
	fast, ferr := ParseFacts(path, data)
	fastFacts = false
	slow, serr := ParseFacts(path, data)
	if fmt.Sprint(ferr) != fmt.Sprint(serr) {
		t.Fatalf("%s: errors differ\nfast: %v\nslow: %v", path, ferr, serr)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%s: facts differ\nfast: %#v\nslow: %#v", path, fast, slow)
	}
}

func TestFactsFastPathAgrees(t *testing.T) {
	files, _ := filepath.Glob("testdata/facts/*.json")
	scen, _ := filepath.Glob("../testdata/example/scenarios/*__*.json")
	files = append(files, scen...)
	if len(files) < 20 {
		t.Fatalf("found %d facts files", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		parseBothWays(t, f, data)
	}
	valid := `{"gate": "canary", "step": 25, "facts": {
		"error_rate": {"source": "prometheus", "query": "q", "collected_at": "2026-11-25T14:00:00Z", "duration_ms": 12, "samples": [[1795615170, "0.5"], [1795615185.5, "NaN"]]},
		"integrity": {"source": "sql", "query": "q", "collected_at": "2026-11-25T14:00:00Z", "checks": [{"name": "a", "violations": 3}]},
		"custom": {"mine": {"source": "sql", "path": "p", "collected_at": "2026-11-25T14:00:00Z", "n": 1.5, "s": "x\u00e9\n"}}}}`
	for _, tc := range []struct{ name, data string }{
		{"valid", valid},
		{"int as float", strings.Replace(valid, `"violations": 3`, `"violations": 3.0`, 1)},
		{"int with exponent", strings.Replace(valid, `"violations": 3`, `"violations": 3e0`, 1)},
		{"big int", strings.Replace(valid, `"violations": 3`, `"violations": 123456789012345678901234567890`, 1)},
		{"negative int", strings.Replace(valid, `"violations": 3`, `"violations": -3`, 1)},
		{"minus zero", strings.Replace(valid, `"duration_ms": 12`, `"duration_ms": -0`, 1)},
		{"minus zero float", strings.Replace(valid, `"duration_ms": 12`, `"duration_ms": -0.0`, 1)},
		{"tiny negative", strings.Replace(valid, `"duration_ms": 12`, `"duration_ms": -1e-400`, 1)},
		{"huge", strings.Replace(valid, `"n": 1.5`, `"n": 1e400`, 1)},
		{"step float", strings.Replace(valid, `"step": 25`, `"step": 25.0`, 1)},
		{"step big", strings.Replace(valid, `"step": 25`, `"step": 250`, 1)},
		{"duplicate key", strings.Replace(valid, `"gate": "canary",`, `"gate": "canary", "gate": "window",`, 1)},
		{"duplicate nested key", strings.Replace(valid, `"n": 1.5`, `"n": 1.5, "n": 2`, 1)},
		{"escaped string", strings.Replace(valid, `"path": "p"`, `"path": "a\"b\\c\/d\u0041\t"`, 1)},
		{"surrogate pair", strings.Replace(valid, `"path": "p"`, `"path": "\ud83d\ude00"`, 1)},
		{"lone surrogate", strings.Replace(valid, `"path": "p"`, `"path": "\ud800"`, 1)},
		{"invalid utf8", strings.Replace(valid, `"path": "p"`, "\"path\": \"\xff\"", 1)},
		{"control char", strings.Replace(valid, `"path": "p"`, "\"path\": \"a\x01\"", 1)},
		{"bad sample", strings.Replace(valid, `"0.5"`, `0.5`, 1)},
		{"unknown fact", strings.Replace(valid, `"integrity":`, `"integrityx":`, 1)},
		{"null fact field", strings.Replace(valid, `"duration_ms": 12`, `"duration_ms": null`, 1)},
		{"trailing data", valid + ` {}`},
		{"trailing comma", strings.Replace(valid, `"violations": 3}`, `"violations": 3,}`, 1)},
		{"leading zero", strings.Replace(valid, `"violations": 3`, `"violations": 03`, 1)},
		{"array top", `[` + valid + `]`},
		{"empty", ``},
		{"deep", `{"facts": {}, "runbook": ` + strings.Repeat(`[`, 600) + strings.Repeat(`]`, 600) + `}`},
		{"deep object", `{"facts": {}, "runbook": {"a": ` + strings.Repeat(`{"a": `, 600) + `1` + strings.Repeat(`}`, 601) + `}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parseBothWays(t, "input.json", []byte(tc.data))
		})
	}
}

// TestDecodeJSONAgrees checks decodeJSON against encoding/json on the values it accepts.
func TestDecodeJSONAgrees(t *testing.T) {
	files, _ := filepath.Glob("../testdata/example/scenarios/*.json")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := decodeJSON(data)
		if !ok {
			t.Fatalf("%s: not decoded", f)
		}
		if got, ok = jsonFloats(got); !ok {
			t.Fatalf("%s: numbers", f)
		}
		var want any
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoded differently", f)
		}
	}
}

func FuzzFactsFastPath(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/facts/*.json")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"facts": {"error_rate": {"source": "prometheus", "query": "q", "collected_at": "2026-11-25T14:00:00Z", "samples": [[1, "NaN"]]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		parseBothWays(t, "fuzz.json", data)
	})
}

// TestRunbookSchemaStandsAlone checks that #Runbook compiled from runbook.cue alone, as
// runbooks are validated, is #Runbook of the whole schemas package.
func TestRunbookSchemaStandsAlone(t *testing.T) {
	alone, err := compileSchemas(cuecontext.New(), schemaFiles["#Runbook"]...)
	if err != nil {
		t.Fatal(err)
	}
	all, err := compileSchemas(cuecontext.New())
	if err != nil {
		t.Fatal(err)
	}
	a := fmt.Sprint(alone.LookupPath(cue.ParsePath("#Runbook")))
	b := fmt.Sprint(all.LookupPath(cue.ParsePath("#Runbook")))
	if a != b || len(a) < 1000 {
		t.Errorf("#Runbook differs when compiled alone:\n%s\n---\n%s", a, b)
	}
}

// TestValidatorAgrees loads every test runbook and facts file, valid or not, through one
// Validator, as evaluate does, and wants what loading each on its own gives.
func TestValidatorAgrees(t *testing.T) {
	v := NewValidator()
	runbooks, _ := filepath.Glob("testdata/runbooks/*")
	runbooks = append(runbooks, "testdata/example/runbook.cue", "testdata/example/runbook.json", "../testdata/example/runbook.yaml")
	facts, _ := filepath.Glob("testdata/facts/*.json")
	scen, _ := filepath.Glob("../testdata/example/scenarios/*__*.json")
	facts = append(facts, scen...)
	for i := 0; i < len(runbooks) || i < len(facts); i++ {
		if i < len(runbooks) {
			want, werr := LoadRunbook(runbooks[i])
			got, gerr := v.LoadRunbook(runbooks[i])
			if fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Errorf("%s: error\n%v\nwant\n%v", runbooks[i], gerr, werr)
			} else if werr == nil && (got.Digest != want.Digest || !reflect.DeepEqual(got.Spec, want.Spec)) {
				t.Errorf("%s: loaded differently", runbooks[i])
			}
		}
		if i < len(facts) {
			want, werr := LoadFacts(facts[i])
			got, gerr := v.LoadFacts(facts[i])
			if fmt.Sprint(gerr) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: loaded differently\n%v\nwant\n%v", facts[i], gerr, werr)
			}
		}
	}
}

// TestFactsExportAgrees checks what ParseFacts relies on: #Facts adds nothing to what it
// accepts (no defaults), so the file's own JSON is the validated value CUE would export.
func TestFactsExportAgrees(t *testing.T) {
	files, _ := filepath.Glob("testdata/facts/*.json")
	scen, _ := filepath.Glob("../testdata/example/scenarios/*__*.json")
	for _, f := range append(files, scen...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, fast := range []bool{false, true} {
			c, err := newChecker(nil, f, data, "#Facts")
			if err != nil {
				t.Fatal(err)
			}
			c.fast = fast
			v, issues := c.run()
			if len(issues) > 0 {
				continue // invalid: nothing exported
			}
			want, issues := c.export(v)
			if len(issues) > 0 {
				t.Fatalf("%s: %v", f, issues)
			}
			got, ok := c.decodedValue()
			if !ok || !reflect.DeepEqual(got, want) {
				t.Errorf("%s (fast %v): the file's JSON is not what #Facts exports", f, fast)
			}
		}
	}
}

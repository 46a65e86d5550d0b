package uat

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/collectortest"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

const (
	tokenEnv = "GK_UAT_TOKEN"
	commit   = "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8"
	image    = "registry.example.com/shop/web@sha256:d7bdd545f09d8a73c2b990337c8211d708a04ccd9748627685e4fc79cc038039"
	example  = "../../testdata/example/uat/approval.json"
)

func lookup(name string) (string, bool) {
	if name == tokenEnv {
		return collectortest.Secret, true
	}
	return "", false
}

func request(gate engine.Gate, runbookPath string, spec engine.UATSpec) engine.Request {
	rb := &engine.Runbook{Path: runbookPath, Spec: engine.RunbookSpec{UAT: spec}}
	return engine.Request{Runbook: rb, Environment: "production", Gate: gate, Now: time.Now()}
}

func newCollector(opts ...Option) *Collector {
	return New(append([]Option{WithLookupEnv(lookup), WithBearerTokenEnv(tokenEnv), WithTimeout(2 * time.Second)}, opts...)...)
}

func collect(t *testing.T, c *Collector, req engine.Request) engine.Fact {
	t.Helper()
	facts := c.Collect(context.Background(), req)
	collectortest.AssertSchema(t, facts)
	collectortest.AssertProvenance(t, facts)
	collectortest.AssertNoSecret(t, facts)
	f, ok := facts[FactName]
	if !ok || len(facts) != 1 {
		t.Fatalf("facts = %v, want %s only", facts, FactName)
	}
	if f.Source != "uat" {
		t.Errorf("source = %q", f.Source)
	}
	return f
}

func readExample(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dsse wraps a statement in a DSSE envelope, as cosign attest / in-toto tooling writes it.
func dsse(statement []byte, enc *base64.Encoding) []byte {
	b, _ := json.Marshal(map[string]any{
		"payloadType": InTotoPayloadType,
		"payload":     enc.EncodeToString(statement),
		"signatures":  []any{map[string]any{"keyid": "uat-signer", "sig": "MEUCIQDx"}},
	})
	return b
}

// edit returns the example statement changed by fn.
func edit(t *testing.T, fn func(st map[string]any)) []byte {
	t.Helper()
	var st map[string]any
	if err := json.Unmarshal(readExample(t), &st); err != nil {
		t.Fatal(err)
	}
	fn(st)
	b, _ := json.Marshal(st)
	return b
}

func write(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func approvedOf(t *testing.T, f engine.Fact) map[string]any {
	t.Helper()
	a, ok := f.Data["approved"].(map[string]any)
	if !ok {
		t.Fatalf("approved missing: %+v", f)
	}
	return a
}

func TestRecordFiles(t *testing.T) {
	dir := t.TempDir()
	stmt := readExample(t)
	write(t, dir, "statement.json", stmt)
	write(t, dir, "envelope.json", dsse(stmt, base64.StdEncoding))
	write(t, dir, "envelope-url.json", dsse(stmt, base64.RawURLEncoding))
	write(t, dir, "failed.json", edit(t, func(st map[string]any) { st["predicate"].(map[string]any)["result"] = "FAILED" }))
	write(t, dir, "v01.json", edit(t, func(st map[string]any) { st["_type"] = StatementV01 }))
	write(t, dir, "noimage.json", edit(t, func(st map[string]any) { st["subject"] = st["subject"].([]any)[1:] }))
	write(t, dir, "bare-digest.json", edit(t, func(st map[string]any) { delete(st["subject"].([]any)[0].(map[string]any), "name") }))
	write(t, dir, "gatekeeper.json", []byte(`{"version":"2.4.0","commit":"86f7e43","image":"`+image+`","result":"PASSED","approved_by":"Priya Raman","approved_at":"2026-11-20T15:04:05Z"}`))
	write(t, dir, "gatekeeper-list.json", []byte(`{"commit":"`+commit+`","result":"PASSED","approved_by":["Priya Raman","Dana Ortiz"]}`))
	rbPath := filepath.Join(dir, "runbook.yaml")

	tests := []struct {
		name     string
		rb       string // runbook path
		path     string
		format   string
		version  string
		commit   string
		image    string
		result   string
		envelope string
		extra    map[string]any
	}{
		{"example in-toto statement, path relative to the runbook", "../../testdata/example/runbook.yaml", "uat/approval.json", FormatInToto, "2.4.0", commit, image, "PASSED", EnvelopeNone,
			map[string]any{"signature_verified": false, "predicate_type": TestResultPredicate, "statement_type": StatementV1, "run_url": "https://ci.example.com/shop/web/-/pipelines/48213"}},
		{"DSSE envelope, standard base64", rbPath, "envelope.json", FormatInToto, "2.4.0", commit, image, "PASSED", EnvelopeDSSE, map[string]any{"signatures": 1, "signature_verified": false}},
		{"DSSE envelope, raw URL-safe base64", rbPath, "envelope-url.json", FormatInToto, "2.4.0", commit, image, "PASSED", EnvelopeDSSE, nil},
		{"absolute path", "elsewhere/runbook.yaml", filepath.Join(dir, "statement.json"), FormatInToto, "2.4.0", commit, image, "PASSED", EnvelopeNone, nil},
		{"FAILED reported raw", rbPath, "failed.json", FormatInToto, "2.4.0", commit, image, "FAILED", EnvelopeNone, nil},
		{"Statement v0.1", rbPath, "v01.json", FormatInToto, "2.4.0", commit, image, "PASSED", EnvelopeNone, map[string]any{"statement_type": StatementV01}},
		{"no image subject: image left out", rbPath, "noimage.json", FormatInToto, "", commit, "", "PASSED", EnvelopeNone, nil},
		{"image subject without a name", rbPath, "bare-digest.json", FormatInToto, "2.4.0", commit, "sha256:d7bdd545f09d8a73c2b990337c8211d708a04ccd9748627685e4fc79cc038039", "PASSED", EnvelopeNone, nil},
		{"gatekeeper format", rbPath, "gatekeeper.json", FormatGatekeeper, "2.4.0", "86f7e43", image, "PASSED", "",
			map[string]any{"approved_by": []any{"Priya Raman"}, "approved_at": "2026-11-20T15:04:05Z"}},
		{"gatekeeper format, several approvers", rbPath, "gatekeeper-list.json", FormatGatekeeper, "", commit, "", "PASSED", "",
			map[string]any{"approved_by": []any{"Priya Raman", "Dana Ortiz"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := collect(t, newCollector(), request(engine.PreCutover, tt.rb, engine.UATSpec{Record: &engine.UATRecord{Path: tt.path, Format: tt.format}}))
			if f.Err != "" {
				t.Fatalf("error: %s", f.Err)
			}
			if f.Path == "" || f.URL != "" {
				t.Errorf("provenance path %q url %q", f.Path, f.URL)
			}
			a := approvedOf(t, f)
			for k, want := range map[string]string{"version": tt.version, "commit": tt.commit, "image": tt.image} {
				got, present := a[k]
				if want == "" && present || want != "" && got != want {
					t.Errorf("approved.%s = %v, want %q", k, got, want)
				}
			}
			if f.Data["result"] != tt.result || f.Data["format"] != tt.format {
				t.Errorf("result %v format %v", f.Data["result"], f.Data["format"])
			}
			if tt.envelope != "" && f.Data["envelope"] != tt.envelope {
				t.Errorf("envelope = %v, want %s", f.Data["envelope"], tt.envelope)
			}
			for k, want := range tt.extra {
				if fmt.Sprint(f.Data[k]) != fmt.Sprint(want) {
					t.Errorf("%s = %v, want %v", k, f.Data[k], want)
				}
			}
		})
	}
	t.Run("test counts of the example", func(t *testing.T) {
		f := collect(t, newCollector(), request(engine.PreCutover, "../../testdata/example/runbook.yaml", engine.UATSpec{Record: &engine.UATRecord{Path: "uat/approval.json", Format: FormatInToto}}))
		if got := fmt.Sprint(f.Data["tests"]); got != "map[failed:0 passed:9 warned:1]" {
			t.Errorf("tests = %s", got)
		}
	})
}

func TestRecordErrors(t *testing.T) {
	dir := t.TempDir()
	stmt := readExample(t)
	files := map[string][]byte{
		"wrong-predicate.json": edit(t, func(st map[string]any) { st["predicateType"] = "https://slsa.dev/provenance/v1" }),
		"wrong-type.json":      edit(t, func(st map[string]any) { st["_type"] = "https://example.com/Statement" }),
		"no-result.json":       edit(t, func(st map[string]any) { delete(st["predicate"].(map[string]any), "result") }),
		"no-subject.json":      edit(t, func(st map[string]any) { st["subject"] = []any{} }),
		"two-images.json": edit(t, func(st map[string]any) {
			st["subject"] = append(st["subject"].([]any), map[string]any{"name": "registry.example.com/shop/worker", "digest": map[string]any{"sha256": strings.Repeat("a", 64)}})
		}),
		"short-digest.json": edit(t, func(st map[string]any) {
			st["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": "d7bdd545"}
		}),
		"bad-base64.json":      []byte(`{"payloadType":"application/vnd.in-toto+json","payload":"!!!not base64!!!","signatures":[]}`),
		"wrong-payload.json":   []byte(`{"payloadType":"text/plain","payload":"aGVsbG8=","signatures":[]}`),
		"payload-junk.json":    dsse([]byte("hello"), base64.StdEncoding),
		"array.json":           []byte(`[1,2]`),
		"truncated.json":       stmt[:len(stmt)/2],
		"gk-unknown.json":      []byte(`{"comit":"abc1234","result":"PASSED"}`),
		"gk-no-commit.json":    []byte(`{"result":"PASSED"}`),
		"gk-no-result.json":    []byte(`{"commit":"abc1234"}`),
		"gk-bad-time.json":     []byte(`{"commit":"abc1234","result":"PASSED","approved_at":"yesterday"}`),
		"gk-bad-approver.json": []byte(`{"commit":"abc1234","result":"PASSED","approved_by":42}`),
		"large.json":           []byte(`{"commit":"abc1234","result":"PASSED","x":"` + strings.Repeat("x", 2048) + `"}`),
	}
	for name, b := range files {
		write(t, dir, name, b)
	}
	rb := filepath.Join(dir, "runbook.yaml")
	tests := []struct {
		name    string
		path    string
		format  string
		wantErr string
	}{
		{"missing file", "missing.json", FormatInToto, "no such file"},
		{"directory", ".", FormatInToto, "is a directory"},
		{"not a test-result predicate", "wrong-predicate.json", FormatInToto, `predicateType is "https://slsa.dev/provenance/v1"`},
		{"not an in-toto statement", "wrong-type.json", FormatInToto, "_type is"},
		{"no result", "no-result.json", FormatInToto, "no result"},
		{"no subject", "no-subject.json", FormatInToto, "no subject"},
		{"two images", "two-images.json", FormatInToto, "ambiguous approval: 2 different image"},
		{"digest not 64 hex", "short-digest.json", FormatInToto, "not 64 hex digits"},
		{"DSSE payload not base64", "bad-base64.json", FormatInToto, "payload: not base64"},
		{"DSSE payload type", "wrong-payload.json", FormatInToto, `payloadType is "text/plain"`},
		{"DSSE payload not JSON", "payload-junk.json", FormatInToto, "in-toto statement"},
		{"not an object", "array.json", FormatInToto, "not a JSON object"},
		{"truncated statement", "truncated.json", FormatInToto, "truncated"},
		{"in-toto read as gatekeeper", "../../testdata/example/uat/approval.json", FormatGatekeeper, `unknown field "_type"`},
		{"gatekeeper record read as in-toto", "gk-no-result.json", FormatInToto, "_type is"},
		{"gatekeeper: misspelt field", "gk-unknown.json", FormatGatekeeper, `unknown field "comit"`},
		{"gatekeeper: no commit", "gk-no-commit.json", FormatGatekeeper, "commit is required"},
		{"gatekeeper: no result", "gk-no-result.json", FormatGatekeeper, "result is required"},
		{"gatekeeper: approved_at", "gk-bad-time.json", FormatGatekeeper, "not an RFC 3339 time"},
		{"gatekeeper: approved_by", "gk-bad-approver.json", FormatGatekeeper, "approved_by must be a string or an array"},
		{"file over the size limit", "large.json", FormatGatekeeper, "exceeds the limit of 1 KiB"},
		{"unknown format", "gk-no-result.json", "spdx", `unknown uat.record.format "spdx"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if strings.HasPrefix(path, "../../") {
				abs, _ := filepath.Abs(path)
				path = abs
			}
			facts := newCollector(WithMaxBody(1024*8)).Collect(context.Background(), request(engine.PreCutover, rb, engine.UATSpec{Record: &engine.UATRecord{Path: path, Format: tt.format}}))
			if tt.name == "file over the size limit" {
				facts = newCollector(WithMaxBody(1024)).Collect(context.Background(), request(engine.PreCutover, rb, engine.UATSpec{Record: &engine.UATRecord{Path: path, Format: tt.format}}))
			}
			collectortest.AssertFailed(t, facts, FactName)
			collectortest.AssertSchema(t, facts)
			collectortest.AssertProvenance(t, facts)
			if e := facts[FactName].Err; !strings.HasPrefix(e, "collect uat: ") || !strings.Contains(e, tt.wantErr) {
				t.Errorf("error = %q, want collect uat: …%s…", e, tt.wantErr)
			}
		})
	}
}

// serve answers every request with body, checking the bearer token.
func serve(t *testing.T, contentType string, body []byte) string {
	return collectortest.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer "+collectortest.Secret {
			t.Errorf("Authorization = %q", got)
		}
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	})).URL
}

func TestRecordURLs(t *testing.T) {
	stmt := readExample(t)
	tests := []struct {
		name   string
		body   []byte
		format string
		commit string
	}{
		{"in-toto statement", stmt, FormatInToto, commit},
		{"DSSE envelope", dsse(stmt, base64.StdEncoding), FormatInToto, commit},
		{"gatekeeper record", []byte(`{"commit":"86f7e43","image":"` + image + `","result":"PASSED"}`), FormatGatekeeper, "86f7e43"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := serve(t, "application/json", tt.body) + "/uat/approval?access_token=" + collectortest.Secret
			f := collect(t, newCollector(), request(engine.PreCutover, "runbook.yaml", engine.UATSpec{Record: &engine.UATRecord{URL: u, Format: tt.format}}))
			if f.Err != "" {
				t.Fatal(f.Err)
			}
			a := approvedOf(t, f)
			if a["commit"] != tt.commit || a["image"] != image || f.Data["result"] != "PASSED" {
				t.Errorf("approved %v result %v", a, f.Data["result"])
			}
			if f.Path != "" || !strings.HasSuffix(f.URL, "access_token="+engine.Redacted) {
				t.Errorf("provenance url %q path %q", f.URL, f.Path)
			}
		})
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		name                  string
		body                  string
		commitPath, imagePath string
		commit, image, ver    string
		wantErr               string
	}{
		{"commit and image", `{"version":"2.4.0","commit":"` + commit + `","image":"` + image + `"}`, "commit", "image", commit, image, "2.4.0", ""},
		{"dotted paths", `{"build":{"sha":"86f7e43","image":"` + image + `"}}`, "build.sha", "build.image", "86f7e43", image, "", ""},
		{"no image_path: the default image member", `{"git":{"commit":"86f7e43"},"image":"` + image + `"}`, "git.commit", "", "86f7e43", image, "", ""},
		{"image absent", `{"commit":"86f7e43"}`, "commit", "image", "86f7e43", "", "", ""},
		{"commit missing", `{"sha":"86f7e43"}`, "commit", "", "", "", "", `no commit at JSON path "commit"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := serve(t, "application/json", []byte(tt.body)) + "/version"
			f := collect(t, newCollector(), request(engine.PreCutover, "runbook.yaml", engine.UATSpec{Endpoint: &engine.UATEndpoint{URL: u, CommitPath: tt.commitPath, ImagePath: tt.imagePath}}))
			if tt.wantErr != "" {
				if !strings.Contains(f.Err, tt.wantErr) {
					t.Errorf("error = %q, want %q", f.Err, tt.wantErr)
				}
				return
			}
			if f.Err != "" {
				t.Fatal(f.Err)
			}
			a := approvedOf(t, f)
			for k, want := range map[string]string{"version": tt.ver, "commit": tt.commit, "image": tt.image} {
				got, present := a[k]
				if want == "" && present || want != "" && got != want {
					t.Errorf("approved.%s = %v, want %q", k, got, want)
				}
			}
			// The endpoint shows what UAT runs, not that it passed: the policy decides.
			if f.Data["result"] != ResultEndpoint || f.Data["format"] != FormatEndpoint || f.Data["status_code"] != 200 {
				t.Errorf("data = %v", f.Data)
			}
			if f.URL != u {
				t.Errorf("url = %q", f.URL)
			}
		})
	}
}

func TestSpecErrors(t *testing.T) {
	tests := []struct {
		name    string
		req     engine.Request
		c       *Collector
		wantErr string
	}{
		{"no runbook", engine.Request{Gate: engine.PreCutover}, newCollector(), "no runbook"},
		{"no uat source", request(engine.PreCutover, "runbook.yaml", engine.UATSpec{}), newCollector(), "neither record nor endpoint"},
		{"both sources", request(engine.PreCutover, "runbook.yaml", engine.UATSpec{Record: &engine.UATRecord{Path: "a.json"}, Endpoint: &engine.UATEndpoint{URL: "http://127.0.0.1:1/"}}), newCollector(), "both record and endpoint"},
		{"record with path and url", request(engine.PreCutover, "runbook.yaml", engine.UATSpec{Record: &engine.UATRecord{Path: "a.json", URL: "http://127.0.0.1:1/"}}), newCollector(), "both path and url"},
		{"record with neither", request(engine.PreCutover, "runbook.yaml", engine.UATSpec{Record: &engine.UATRecord{Format: FormatInToto}}), newCollector(), "neither path nor url"},
		{"token unset", request(engine.PreCutover, "runbook.yaml", engine.UATSpec{Endpoint: &engine.UATEndpoint{URL: "http://127.0.0.1:1/"}}), New(WithBearerTokenEnv("GK_UNSET")), "GK_UNSET is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			facts := tt.c.Collect(context.Background(), tt.req)
			collectortest.AssertFailed(t, facts, FactName)
			collectortest.AssertSchema(t, facts)
			collectortest.AssertProvenance(t, facts)
			if e := facts[FactName].Err; !strings.Contains(e, tt.wantErr) {
				t.Errorf("error = %q, want %q", e, tt.wantErr)
			}
		})
	}
}

func TestGates(t *testing.T) {
	for _, g := range engine.Gates() {
		t.Run(string(g), func(t *testing.T) {
			facts := newCollector().Collect(context.Background(), request(g, "../../testdata/example/runbook.yaml", engine.UATSpec{Record: &engine.UATRecord{Path: "uat/approval.json", Format: FormatInToto}}))
			if _, got := facts[FactName]; got != (g == engine.PreCutover) || len(facts) > 1 {
				t.Errorf("gate %s: facts %v", g, facts)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	t.Run("record url", func(t *testing.T) {
		collectortest.RunFaults(t, func(t *testing.T, baseURL string) (engine.Collector, engine.Request) {
			u := baseURL + "/approval.json?token=" + collectortest.Secret
			return New(WithLookupEnv(lookup), WithBearerTokenEnv(tokenEnv), WithTimeout(time.Second)),
				request(engine.PreCutover, "runbook.yaml", engine.UATSpec{Record: &engine.UATRecord{URL: u, Format: FormatInToto}})
		}, FactName)
	})
	t.Run("endpoint", func(t *testing.T) {
		collectortest.RunFaults(t, func(t *testing.T, baseURL string) (engine.Collector, engine.Request) {
			u := baseURL + "/version?token=" + collectortest.Secret
			return New(WithLookupEnv(lookup), WithBearerTokenEnv(tokenEnv), WithTimeout(time.Second)),
				request(engine.PreCutover, "runbook.yaml", engine.UATSpec{Endpoint: &engine.UATEndpoint{URL: u, CommitPath: "commit"}})
		}, FactName)
	})
}

package manifests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	rollouts "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	flagger "github.com/fluxcd/flagger/pkg/apis/flagger/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// examplesDir is examples/, relative to this package.
const examplesDir = ".."

// manifestFiles are the Kubernetes manifests among the examples.
var manifestFiles = []string{
	"kubernetes/serve.yaml",
	"argo-rollouts/analysistemplate.yaml",
	"argo-rollouts/rollout.yaml",
	"flagger/canary.yaml",
}

// apiTypes maps apiVersion and kind to the published Go type the API server (or the CRD's
// controller) decodes the object into.
var apiTypes = map[string]func() any{
	"apps/v1 Deployment":                    func() any { return &appsv1.Deployment{} },
	"v1 Service":                            func() any { return &corev1.Service{} },
	"v1 PersistentVolumeClaim":              func() any { return &corev1.PersistentVolumeClaim{} },
	"argoproj.io/v1alpha1 AnalysisTemplate": func() any { return &rollouts.AnalysisTemplate{} },
	"argoproj.io/v1alpha1 Rollout":          func() any { return &rollouts.Rollout{} },
	"flagger.app/v1beta1 Canary":            func() any { return &flagger.Canary{} },
}

// doc is one YAML document of a manifest file.
type doc struct {
	file  string
	index int
	yaml  []byte
}

func (d doc) String() string { return fmt.Sprintf("%s (document %d)", d.file, d.index+1) }

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// readDocs splits a manifest file into its YAML documents, skipping comment-only ones.
func readDocs(t *testing.T, file string) []doc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examplesDir, file))
	if err != nil {
		t.Fatal(err)
	}
	var out []doc
	for i, part := range docSeparator.Split(string(b), -1) {
		var probe map[string]any
		if err := yaml.Unmarshal([]byte(part), &probe); err != nil {
			t.Fatalf("%s (document %d): %v", file, i+1, err)
		}
		if len(probe) == 0 {
			continue
		}
		out = append(out, doc{file: file, index: i, yaml: []byte(part)})
	}
	if len(out) == 0 {
		t.Fatalf("%s: no documents", file)
	}
	return out
}

// decodeStrict decodes one document as the API server does with strict field validation
// (kubectl apply --validate=strict): YAML to JSON with duplicate keys refused, then JSON into
// the Go type with field names matched case-sensitively and unknown fields refused.
func decodeStrict(y []byte) (any, error) {
	j, err := yaml.YAMLToJSONStrict(y)
	if err != nil {
		return nil, fmt.Errorf("yaml: %w", err)
	}
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(j, &tm); err != nil {
		return nil, err
	}
	key := tm.APIVersion + " " + tm.Kind
	newObj, ok := apiTypes[key]
	if !ok {
		return nil, fmt.Errorf("no Go API type for %q", key)
	}
	obj := newObj()
	strictErrs, err := sigsjson.UnmarshalStrict(j, obj, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, err
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, len(strictErrs))
		for i, e := range strictErrs {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("strict decoding: %s", strings.Join(msgs, "; "))
	}
	return obj, nil
}

// decodeFile decodes every document of a manifest file strictly.
func decodeFile(t *testing.T, file string) []any {
	t.Helper()
	var objs []any
	for _, d := range readDocs(t, file) {
		obj, err := decodeStrict(d.yaml)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		objs = append(objs, obj)
	}
	return objs
}

// only returns the single object of type T among objs.
func only[T any](t *testing.T, objs []any) T {
	t.Helper()
	var found []T
	for _, o := range objs {
		if v, ok := o.(T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want exactly one %T, found %d", zero, len(found))
	}
	return found[0]
}

func TestManifestsDecodeStrictly(t *testing.T) {
	kinds := map[string]int{}
	for _, file := range manifestFiles {
		for _, obj := range decodeFile(t, file) {
			kinds[fmt.Sprintf("%T", obj)]++
		}
	}
	want := map[string]int{
		"*v1.Deployment": 1, "*v1.Service": 1, "*v1.PersistentVolumeClaim": 1,
		"*v1alpha1.AnalysisTemplate": 3, "*v1alpha1.Rollout": 1, "*v1beta1.Canary": 1,
	}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("decoded objects %v, want %v", kinds, want)
	}
}

// TestStrictDecodingRefuses shows, on one small manifest, each kind of mistake the decoding
// catches, so that the mutation test below cannot pass by accepting everything.
func TestStrictDecodingRefuses(t *testing.T) {
	const good = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: t
spec:
  metrics:
    - name: m
      interval: 1m
      failureLimit: 0
      provider:
        web:
          url: http://127.0.0.1/
          timeoutSeconds: 75
`
	if _, err := decodeStrict([]byte(good)); err != nil {
		t.Fatalf("the correct manifest: %v", err)
	}
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{name: "misspelt field", from: "failureLimit: 0", to: "failureLimt: 0", want: `unknown field "spec.metrics[0].failureLimt"`},
		{name: "wrong case", from: "interval: 1m", to: "Interval: 1m", want: `unknown field "spec.metrics[0].Interval"`},
		{name: "field at the wrong level", from: "          timeoutSeconds: 75", to: "      timeoutSeconds: 75", want: `unknown field "spec.metrics[0].timeoutSeconds"`},
		{name: "duplicate key", from: "      interval: 1m\n", to: "      interval: 1m\n      interval: 2m\n", want: `key "interval" already set`},
		{name: "wrong type", from: "timeoutSeconds: 75", to: "timeoutSeconds: soon", want: "timeoutSeconds"},
		{name: "unknown kind", from: "kind: AnalysisTemplate", to: "kind: AnalysisTemplates", want: "no Go API type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(good, tc.from, tc.to, 1)
			if bad == good {
				t.Fatalf("%q not found in the manifest", tc.from)
			}
			_, err := decodeStrict([]byte(bad))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("decoding with %s: error %v, want one containing %q", tc.name, err, tc.want)
			}
		})
	}
}

// freeForm are the paths (kind, then object keys joined by ".", list indexes as "[]") whose
// keys are data, not schema: any key there is valid for the API types. Resource names (cpu,
// memory, storage) are refused only by the API server's validation; the other tests check
// the ones the examples use.
var freeForm = []string{
	"*:metadata.labels", "*:metadata.annotations",
	"*:spec.selector.matchLabels", "Service:spec.selector",
	"*:spec.template.metadata.labels", "*:spec.template.metadata.annotations",
	"Deployment:spec.template.spec.containers[].resources.requests", "Deployment:spec.template.spec.containers[].resources.limits",
	"PersistentVolumeClaim:spec.resources.requests",
	"Canary:spec.analysis.webhooks[].metadata",
}

// TestMisspeltFieldsFail misspells every key of every manifest, one at a time, and requires
// the strict decoding to refuse each: no field of the examples is silently ignored. Keys in
// freeForm maps are checked to be accepted instead, so that list stays exact.
func TestMisspeltFieldsFail(t *testing.T) {
	mutated, accepted := 0, 0
	for _, file := range manifestFiles {
		for _, d := range readDocs(t, file) {
			j, err := yaml.YAMLToJSONStrict(d.yaml)
			if err != nil {
				t.Fatal(err)
			}
			var tree any
			if err := json.Unmarshal(j, &tree); err != nil {
				t.Fatal(err)
			}
			for _, p := range keyPaths(tree, nil) {
				bad, err := json.Marshal(renameKey(tree, p))
				if err != nil {
					t.Fatal(err)
				}
				_, err = decodeStrict(bad)
				path := pathString(p)
				if isFreeForm(tree.(map[string]any)["kind"].(string), path) {
					accepted++
					if err != nil {
						t.Errorf("%s: key %s is listed as free-form but a changed key fails: %v", d, path, err)
					}
					continue
				}
				mutated++
				if err == nil || !strings.Contains(err.Error(), "unknown field") && !strings.Contains(err.Error(), "no Go API type") {
					t.Errorf("%s: misspelling %s is not refused (error: %v)", d, path, err)
				}
			}
		}
	}
	t.Logf("%d misspelt keys refused, %d free-form keys accepted", mutated, accepted)
	if mutated < 150 {
		t.Errorf("only %d keys mutated: the manifests cannot have become that small", mutated)
	}
}

// keyPath is the way to one object key: the keys and list indexes from the root.
type keyPath []any

func keyPaths(v any, prefix keyPath) []keyPath {
	var out []keyPath
	switch n := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(n))
		for k := range n {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := append(append(keyPath{}, prefix...), k)
			out = append(out, p)
			out = append(out, keyPaths(n[k], p)...)
		}
	case []any:
		for i, e := range n {
			out = append(out, keyPaths(e, append(append(keyPath{}, prefix...), i))...)
		}
	}
	return out
}

// renameKey returns a deep copy of tree with the last key of p misspelt (a letter doubled,
// so the result is still a plausible field name).
func renameKey(tree any, p keyPath) any {
	var cp any
	b, _ := json.Marshal(tree)
	_ = json.Unmarshal(b, &cp)
	node := cp
	for _, step := range p[:len(p)-1] {
		switch s := step.(type) {
		case string:
			node = node.(map[string]any)[s]
		case int:
			node = node.([]any)[s]
		}
	}
	m := node.(map[string]any)
	key := p[len(p)-1].(string)
	bad := key[:1] + key[:1] + key[1:]
	m[bad] = m[key]
	delete(m, key)
	return cp
}

func pathString(p keyPath) string {
	var b bytes.Buffer
	for _, step := range p {
		switch s := step.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s)
		case int:
			b.WriteString("[]")
		}
	}
	return b.String()
}

func isFreeForm(kind, path string) bool {
	for _, f := range freeForm {
		k, prefix, _ := strings.Cut(f, ":")
		if (k == "*" || k == kind) && strings.HasPrefix(path, prefix+".") {
			return true
		}
	}
	return false
}

package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	opabundle "github.com/open-policy-agent/opa/v1/bundle"

	"github.com/gatekeeper-dev/gatekeeper/bundle"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// stockOPA finds the stock opa CLI: .ci/run installs it in .ci/bin, a developer may have it
// on PATH.
func stockOPA(t *testing.T) string {
	t.Helper()
	if p, err := filepath.Abs(".ci/bin/opa"); err == nil {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	p, err := exec.LookPath("opa")
	if err != nil {
		t.Skip("stock opa not in .ci/bin or on PATH; .ci/run installs it")
	}
	return p
}

// opaServer is a stock `opa run --server` on a loopback port.
type opaServer struct {
	url  string
	done chan error
	log  *bytes.Buffer
}

// startOPA starts `opa run --server --bundle` with args and waits until its bundle is
// active. It returns the server's own error and log if opa exits instead.
func startOPA(t *testing.T, opa string, args ...string) (*opaServer, error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(opa, append([]string{"run", "--server", "--bundle", "--addr", addr, "--log-level", "error"}, args...)...)
	s := &opaServer{url: "http://" + addr, done: make(chan error, 1), log: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.done
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			return nil, fmt.Errorf("opa exited (%v): %s", err, s.log)
		default:
		}
		if resp, err := http.Get(s.url + "/health?bundles"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("opa did not become ready in 20s: %s", s.log)
	return nil, nil
}

// decide posts body ({"input": ...}) to the bundle's entrypoint and returns the HTTP
// status and the decoded result (nil when OPA answered no result).
func (s *opaServer) decide(t *testing.T, body []byte) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(s.url+"/v1/data/"+bundle.Entrypoint, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	var out struct {
		Result map[string]any `json:"result"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("opa answer: %v\n%s", err, b)
	}
	return resp.StatusCode, out.Result
}

func inputBody(t *testing.T, input any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"input": input})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// sameDecision compares OPA's result with gatekeeper's record: decision, checks, warnings
// and completeness, as generic JSON.
func sameDecision(t *testing.T, got, rec map[string]any) {
	t.Helper()
	for _, k := range []string{"decision", "checks", "warnings", "complete"} {
		if !reflect.DeepEqual(got[k], rec[k]) {
			g, _ := json.MarshalIndent(got[k], "", "  ")
			w, _ := json.MarshalIndent(rec[k], "", "  ")
			t.Errorf("%s: opa says\n%s\ngatekeeper evaluate says\n%s", k, g, w)
		}
	}
}

// evaluateWithInput runs evaluate for a scenario, returning its exit code, record and the
// policy input it wrote.
func evaluateWithInput(t *testing.T, s scenario, extra ...string) (int, map[string]any, map[string]any) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "input.json")
	args := append(s.args("json"), append([]string{"--write-input", in}, extra...)...)
	code, out, stderr := gk(t, args...)
	if code == engine.ExitError {
		t.Fatalf("evaluate %s: %s", s.File, stderr)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatalf("evaluate %s: %v\n%s", s.File, err, out)
	}
	return code, rec, readJSON(t, in)
}

// TestBundleDecidesLikeEvaluate serves the bundle with the stock opa and wants, for every
// example scenario, the decision, checks, warnings and completeness `evaluate` records for
// the input it writes; and for inputs with malformed facts, never go.
func TestBundleDecidesLikeEvaluate(t *testing.T) {
	opa := stockOPA(t)
	path := filepath.Join(t.TempDir(), "bundle.tar.gz")
	if code, _, stderr := gk(t, "bundle", "-o", path); code != 0 {
		t.Fatalf("bundle: exit %d: %s", code, stderr)
	}
	revision := checkBundleFile(t, path)
	srv, err := startOPA(t, opa, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range loadScenarios(t) {
		t.Run(strings.TrimSuffix(s.File, ".json"), func(t *testing.T) {
			code, rec, input := evaluateWithInput(t, s)
			if code != s.Exit {
				t.Fatalf("evaluate: exit %d, want %d", code, s.Exit)
			}
			if rec["policies_digest"] != revision {
				t.Errorf("record policies_digest %v, bundle revision %s", rec["policies_digest"], revision)
			}
			status, got := srv.decide(t, inputBody(t, input))
			if status != http.StatusOK || got == nil {
				t.Fatalf("opa: HTTP %d, result %v", status, got)
			}
			if got["gate"] != s.Gate {
				t.Errorf("opa decided gate %v, want %s", got["gate"], s.Gate)
			}
			if s.Step != nil && got["step"] != float64(*s.Step) || s.Step == nil && got["step"] != nil {
				t.Errorf("opa decided step %v, want %v", got["step"], s.Step)
			}
			sameDecision(t, got, rec)
		})
	}
	t.Run("malformed facts", func(t *testing.T) { testMalformedFacts(t, srv) })
}

// checkBundleFile reads the bundle back with OPA's reader and checks its manifest: the
// revision is the digest of the modules it carries, the roots are gatekeeper's, and the
// capabilities are in data. It returns the revision.
func checkBundleFile(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := opabundle.NewReader(f).Read()
	if err != nil {
		t.Fatalf("opa cannot read the bundle: %v", err)
	}
	mods := map[string]any{}
	for _, m := range b.Modules {
		mods[strings.TrimPrefix(m.URL, "/")] = string(m.Raw)
	}
	digest, err := engine.Digest(mods)
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.Revision != digest || b.Manifest.Metadata["policies_digest"] != digest {
		t.Errorf("manifest revision %q, metadata %v: want the modules' digest %s", b.Manifest.Revision, b.Manifest.Metadata["policies_digest"], digest)
	}
	want := []string{"gatekeeper/capabilities", "gatekeeper/gates", "gatekeeper/lib", "gatekeeper/main"}
	if b.Manifest.Roots == nil || !reflect.DeepEqual(*b.Manifest.Roots, want) {
		t.Errorf("roots %v, want %v", b.Manifest.Roots, want)
	}
	caps, _ := b.Data["gatekeeper"].(map[string]any)["capabilities"].(map[string]any)
	if builtins, _ := caps["builtins"].([]any); len(builtins) < 50 {
		t.Errorf("data.gatekeeper.capabilities holds %d builtins", len(builtins))
	}
	for _, m := range b.Modules {
		if strings.HasSuffix(m.URL, "_test.rego") {
			t.Errorf("bundle carries test module %s", m.URL)
		}
	}
	return digest
}

// testMalformedFacts feeds OPA inputs that gatekeeper refuses before deciding (exit 1).
// A malformation in what the policies read, in a fact's provenance or in a fact's name must
// never come out go. One they read as what it says (sample values as JSON numbers) must not
// change OPA's decision. docs/bundle.md lists both kinds.
func testMalformedFacts(t *testing.T, srv *opaServer) {
	base := scenario{File: "healthy__window.json", Gate: "window", Runbook: "runbook.yaml"}
	_, _, input := evaluateWithInput(t, base)
	status, baseRes := srv.decide(t, inputBody(t, input))
	if status != http.StatusOK || baseRes["decision"] != "go" {
		t.Fatalf("the unmutated healthy window input: HTTP %d, decision %v; want go", status, baseRes["decision"])
	}
	facts := readJSON(t, filepath.Join(scenarios, base.File))
	fact := func(f map[string]any, name string) map[string]any { return f[name].(map[string]any) }
	setField := func(name, field string, v any) func(map[string]any) {
		return func(f map[string]any) { fact(f, name)[field] = v }
	}
	samples := func(name string, conv func([]any) []any) func(map[string]any) {
		return func(f map[string]any) {
			var out []any
			for _, s := range fact(f, name)["samples"].([]any) {
				out = append(out, conv(s.([]any)))
			}
			fact(f, name)["samples"] = out
		}
	}
	tests := []struct {
		name   string
		mutate func(facts map[string]any)
		// read: the policies read the malformed value, so OPA must not say go; otherwise
		// OPA must decide as on the unmutated input.
		read bool
	}{
		{"samples not a list", setField("error_rate", "samples", "lots"), true},
		{"sample time a string", samples("error_rate", func(s []any) []any { return []any{fmt.Sprint(s[0]), s[1]} }), true},
		{"sample value an object", samples("latency_p95", func(s []any) []any { return []any{s[0], map[string]any{"v": s[1]}} }), true},
		{"fact from another source", setField("error_rate", "source", "deploy"), true},
		{"collected_at not a time", setField("error_rate", "collected_at", "yesterday"), true},
		{"collected_at a number", setField("latency_p95", "collected_at", 1795615497), true},
		{"error a number", setField("error_rate", "error", 1), true},
		{"error a list", setField("error_rate", "error", []any{}), true},
		{"error false", setField("error_rate", "error", false), true},
		{"fact renamed", func(f map[string]any) { f["errorrate"] = f["error_rate"]; delete(f, "error_rate") }, true},
		{"fact a string", func(f map[string]any) { f["integrity"] = "clean" }, true},
		{"fact a list", func(f map[string]any) { f["integrations"] = []any{} }, true},
		{"violations a string", func(f map[string]any) {
			for _, c := range fact(f, "integrity")["checks"].([]any) {
				c.(map[string]any)["violations"] = "0"
			}
		}, true},
		{"integrity checks not a list", setField("integrity", "checks", map[string]any{}), true},
		{"integrations items null", setField("integrations", "items", nil), true},
		// Provenance of the wrong type and unknown fact names: the input.facts_wellformed
		// rule (policies/lib/shape.rego) refuses them inside the policies too.
		{"error null", setField("error_rate", "error", nil), true},
		{"duration_ms a string", setField("error_rate", "duration_ms", "fast"), true},
		{"query a number", setField("error_rate", "query", 5), true},
		{"unknown fact name", func(f map[string]any) { f["errorrate"] = map[string]any{"source": "prometheus"} }, true},
		// Read as what it says: refused by gatekeeper's schema only.
		{"sample values numbers, not strings", samples("error_rate", func(s []any) []any {
			v, _ := strconv.ParseFloat(s[1].(string), 64)
			return []any{s[0], v}
		}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// gatekeeper refuses the facts file with this malformation before deciding.
			ff := cloneJSON(t, facts)
			tt.mutate(ff["facts"].(map[string]any))
			p := filepath.Join(t.TempDir(), "facts.json")
			writeTestJSON(t, p, ff)
			args := base.args("json")
			for i, a := range args {
				if a == "--facts" {
					args[i+1] = p
				}
			}
			if code, out, stderr := gk(t, args...); code != engine.ExitError {
				t.Fatalf("evaluate: exit %d, want 1 (malformed facts)\n%s%s", code, stderr, out)
			}
			// OPA, given the policy input with the same malformation.
			in := cloneJSON(t, input)
			tt.mutate(in["facts"].(map[string]any))
			status, got := srv.decide(t, inputBody(t, in))
			if status != http.StatusOK {
				t.Fatalf("opa: HTTP %d", status)
			}
			if tt.read && got["decision"] == "go" {
				t.Fatalf("opa decided go on a malformed fact: %v", got["checks"])
			}
			if !tt.read {
				sameDecision(t, got, baseRes)
			}
		})
	}
	// A facts file posted as it is, without the runbook and the sign-off fact gatekeeper
	// merges in: never go.
	for _, drop := range []string{"runbook", "signoff"} {
		t.Run("input without "+drop, func(t *testing.T) {
			in := cloneJSON(t, input)
			delete(in, drop)
			delete(in["facts"].(map[string]any), drop)
			if _, got := srv.decide(t, inputBody(t, in)); got == nil || got["decision"] == "go" {
				t.Fatalf("opa decided %v", got["decision"])
			}
		})
	}
	// Not JSON: OPA refuses the request before any policy runs.
	body := string(inputBody(t, input))
	for _, tt := range []struct{ name, body string }{
		{"NaN literal", strings.Replace(body, `"duration_ms":0`, `"duration_ms":NaN`, 1)},
		{"truncated", body[:len(body)/2]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.body == body {
				t.Fatal("mutation did not apply")
			}
			if status, got := srv.decide(t, []byte(tt.body)); status != http.StatusBadRequest {
				t.Fatalf("opa: HTTP %d (result %v), want 400", status, got)
			}
		})
	}
	// Duplicate keys (gatekeeper refuses them): OPA keeps the last copy, so a malformed
	// last copy is never go, and a well-formed last copy decides as without the duplicate.
	for _, tt := range []struct {
		name   string
		last   bool
		wantGo bool
	}{{"duplicate fact, malformed last", true, false}, {"duplicate fact, malformed first", false, true}} {
		t.Run(tt.name, func(t *testing.T) {
			rest := cloneJSON(t, input)
			delete(rest, "facts")
			head, err := json.Marshal(rest)
			if err != nil {
				t.Fatal(err)
			}
			facts, err := json.Marshal(input["facts"])
			if err != nil {
				t.Fatal(err)
			}
			bad := `"error_rate":{"source":"prometheus","samples":"lots"}`
			var dup string
			if tt.last {
				dup = string(facts[:len(facts)-1]) + "," + bad + "}"
			} else {
				dup = "{" + bad + "," + string(facts[1:])
			}
			doc := `{"input":` + string(head[:len(head)-1]) + `,"facts":` + dup + "}}"
			status, got := srv.decide(t, []byte(doc))
			if status != http.StatusOK || (got["decision"] == "go") != tt.wantGo {
				t.Fatalf("opa: HTTP %d, decision %v; want go: %v", status, got["decision"], tt.wantGo)
			}
		})
	}
}

func cloneJSON(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func writeTestJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSignedBundle signs a bundle with user policies and checks that the stock opa refuses it
// with the wrong key or none, serves it with the right one and then decides as evaluate
// --policies does; and that the signature is the one `opa build --signing-key` makes of
// the same files.
func TestSignedBundle(t *testing.T) {
	opa := stockOPA(t)
	tests := []struct {
		name string
		alg  string
		key  func() (priv, pub []byte)
		// deterministic: the algorithm signs the same token twice (RSA PKCS #1 v1.5)
		deterministic bool
	}{
		{"RS256", "RS256", rsaKey(t), true},
		{"ES256", "ES256", ecKey(t), false},
	}
	healthy := scenario{File: "healthy__pre-cutover.json", Gate: "pre-cutover", Runbook: "runbook.yaml", Exit: 0}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			priv, pub := tt.key()
			_, wrongPub := tt.key()
			keyFile, pubFile, wrongFile := filepath.Join(dir, "key.pem"), filepath.Join(dir, "pub.pem"), filepath.Join(dir, "wrong.pem")
			for p, b := range map[string][]byte{keyFile: priv, pubFile: pub, wrongFile: wrongPub} {
				if err := os.WriteFile(p, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(dir, "bundle.tar.gz")
			code, out, stderr := gk(t, "bundle", "-o", path, "--policies", "testdata/example/policies",
				"--signing-key", keyFile, "--signing-alg", tt.alg)
			if code != 0 {
				t.Fatalf("bundle: exit %d: %s", code, stderr)
			}
			if !strings.Contains(out, "signed "+tt.alg) {
				t.Errorf("bundle output does not say it signed: %s", out)
			}
			if strings.Contains(out+stderr, "PRIVATE KEY") {
				t.Errorf("bundle output shows key material")
			}

			if _, err := startOPA(t, opa, "--verification-key", wrongFile, "--signing-alg", tt.alg, path); err == nil || !strings.Contains(err.Error(), "verif") {
				t.Errorf("opa with the wrong key: %v; want a verification failure", err)
			}
			if _, err := startOPA(t, opa, path); err == nil || !strings.Contains(err.Error(), "verification key not provided") {
				t.Errorf("opa without a key: %v; want it to refuse the signed bundle", err)
			}
			srv, err := startOPA(t, opa, "--verification-key", pubFile, "--signing-alg", tt.alg, path)
			if err != nil {
				t.Fatalf("opa with the right key: %v", err)
			}
			_, rec, input := evaluateWithInput(t, healthy, "--policies", "testdata/example/policies")
			_, got := srv.decide(t, inputBody(t, input))
			sameDecision(t, got, rec)
			if !strings.Contains(fmt.Sprint(got["checks"]), "team.change_freeze") {
				t.Errorf("the user policy's check is missing from opa's answer: %v", got["checks"])
			}

			// opa build --signing-key over the same files signs the same claims.
			src := filepath.Join(dir, "src")
			extract(t, path, src, ".signatures.json")
			built := filepath.Join(dir, "opa-build.tar.gz")
			cmd := exec.Command(opa, "build", "-b", ".", "--signing-key", keyFile, "--signing-alg", tt.alg, "-o", built)
			cmd.Dir = src
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("opa build: %v: %s", err, b)
			}
			ours, theirs := signatureToken(t, path), signatureToken(t, built)
			if tt.deterministic && ours != theirs {
				t.Errorf("signature differs from opa build's:\n%s\n%s", ours, theirs)
			}
			if o, b := ours[:strings.LastIndex(ours, ".")], theirs[:strings.LastIndex(theirs, ".")]; o != b {
				t.Errorf("signed header and claims differ from opa build's:\n%s\n%s", o, b)
			}
		})
	}
}

// TestBundleBadSigningInput wants exit 1 and a message naming the key file, never its content.
func TestBundleBadSigningInput(t *testing.T) {
	dir := t.TempDir()
	notKey := filepath.Join(dir, "notakey.pem")
	secret := "s3cr3t-not-a-pem-key"
	if err := os.WriteFile(notKey, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "b.tar.gz")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"missing key file", []string{"--signing-key", filepath.Join(dir, "nope.pem")}, []string{"nope.pem", "no such file"}},
		{"not a PEM key", []string{"--signing-key", notKey}, []string{"notakey.pem", "PEM"}},
		{"unknown algorithm", []string{"--signing-key", notKey, "--signing-alg", "EdDSA"}, []string{"EdDSA", "RS256"}},
		{"algorithm without key", []string{"--signing-alg", "ES256"}, []string{"--signing-key"}},
		{"policy does not compile", []string{"--policies", "testdata/badpolicies/syntax"}, []string{"broken.rego"}},
		{"policy outside the allow-list", []string{"--policies", "testdata/badpolicies/clock"}, []string{"time.now_ns", "capabilities"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := gk(t, append([]string{"bundle", "-o", out}, tt.args...)...)
			if code != engine.ExitError {
				t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q: %s", w, stderr)
				}
			}
			if strings.Contains(stdout+stderr, secret) {
				t.Errorf("output shows the key file's content: %s", stderr)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a bundle was written despite the error")
			}
		})
	}
}

func rsaKey(t *testing.T) func() ([]byte, []byte) {
	return func() ([]byte, []byte) {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return pemKeys(t, k, &k.PublicKey)
	}
}

func ecKey(t *testing.T) func() ([]byte, []byte) {
	return func() ([]byte, []byte) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return pemKeys(t, k, &k.PublicKey)
	}
}

func pemKeys(t *testing.T, priv, pub any) ([]byte, []byte) {
	t.Helper()
	pk, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pb})
}

// extract unpacks a bundle tarball into dir, leaving out the named file.
func extract(t *testing.T, path, dir, skip string) {
	t.Helper()
	for name, b := range tarFiles(t, path) {
		if name == skip {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func tarFiles(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimPrefix(h.Name, "/")] = b
	}
}

func signatureToken(t *testing.T, path string) string {
	t.Helper()
	var sc struct {
		Signatures []string `json:"signatures"`
	}
	if err := json.Unmarshal(tarFiles(t, path)[".signatures.json"], &sc); err != nil || len(sc.Signatures) != 1 {
		t.Fatalf("%s: .signatures.json: %v (%d signatures)", path, err, len(sc.Signatures))
	}
	return sc.Signatures[0]
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

const serveTestToken = "serve-test-token-9d8e7f6a5b4c"

func TestServeBadFlags(t *testing.T) {
	t.Setenv(tokenEnv, "")
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty-token")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "token")
	if err := os.WriteFile(good, []byte(serveTestToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rb := "testdata/example/runbook.yaml"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"serve", "--runbook", rb, "--insecure-no-auth", "--port", "80"}, "unknown flag"},
		{"no runbook", []string{"serve", "--insecure-no-auth"}, `"runbook" not set`},
		{"no token", []string{"serve", "--runbook", rb}, "no token"},
		{"empty token file", []string{"serve", "--runbook", rb, "--token-file", empty}, "is empty"},
		{"missing token file", []string{"serve", "--runbook", rb, "--token-file", filepath.Join(dir, "nope")}, "token file"},
		{"runbook that does not exist", []string{"serve", "--runbook", "nope.yaml", "--token-file", good}, "nope.yaml"},
		{"tls cert without key", []string{"serve", "--runbook", rb, "--token-file", good, "--tls-cert", "c.pem"}, "go together"},
		{"write timeout under the live deadline", []string{"serve", "--runbook", rb, "--token-file", good, "--write-timeout", "10s"}, "must exceed --deadline"},
		{"log format", []string{"serve", "--runbook", rb, "--token-file", good, "--log-format", "xml"}, "--log-format"},
		{"sign key without archive", []string{"serve", "--runbook", rb, "--token-file", good, "--sign-key", "k"}, "needs --archive"},
		{"max body", []string{"serve", "--runbook", rb, "--token-file", good, "--max-body", "0"}, "max body"},
		{"bad address", []string{"serve", "--runbook", rb, "--token-file", good, "--addr", "127.0.0.1:99999"}, "serve:"},
		{"argument", []string{"serve", "--runbook", rb, "--insecure-no-auth", "extra"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := gk(t, tt.args...)
			if code != engine.ExitError {
				t.Fatalf("exit %d, want 1; stderr: %s", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not mention %q: %s", tt.want, stderr)
			}
			if strings.Contains(stderr, serveTestToken) {
				t.Errorf("stderr holds the token: %s", stderr)
			}
		})
	}
}

// lockedBuffer is serve's stderr, written by its goroutines and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeAgreesWithEvaluate runs `gatekeeper serve` and, for every example facts file,
// checks that POST /v1/decide answers the record `gatekeeper evaluate -o json` prints; then
// stops it as SIGTERM would and expects exit 0. The token comes from the environment and
// appears nowhere in serve's output.
func TestServeAgreesWithEvaluate(t *testing.T) {
	t.Setenv(tokenEnv, serveTestToken)
	var stdout, stderr lockedBuffer
	root := newRootCmd(&stdout, &stderr)
	root.SetArgs([]string{"serve", "--runbook", "testdata/example/runbook.yaml", "--runbook", "testdata/example/runbook-edited.yaml",
		"--addr", "127.0.0.1:0", "--log-format", "json"})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	addrRe := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; {
		if m := addrRe.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, sc := range loadScenarios(t) {
		t.Run(sc.File, func(t *testing.T) {
			facts, err := os.ReadFile(filepath.Join("testdata/example/scenarios", sc.File))
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodPost, base+"/v1/decide?runbook="+strings.TrimSuffix(sc.Runbook, ".yaml"), bytes.NewReader(facts))
			req.Header.Set("Authorization", "Bearer "+serveTestToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			code, out, errOut := gk(t, sc.args("json")...)
			if code != sc.Exit {
				t.Fatalf("evaluate exit %d, want %d: %s", code, sc.Exit, errOut)
			}
			var fromServe, fromEvaluate engine.Record
			if err := json.Unmarshal(body, &fromServe); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(out), &fromEvaluate); err != nil {
				t.Fatalf("evaluate -o json: %v", err)
			}
			a, _ := json.Marshal(fromServe)
			b, _ := json.Marshal(fromEvaluate)
			if !bytes.Equal(a, b) {
				t.Errorf("serve and evaluate disagree:\nserve    %s\nevaluate %s", a, b)
			}
			if string(fromServe.Decision) != sc.Decision {
				t.Errorf("decision %s, want %s", fromServe.Decision, sc.Decision)
			}
		})
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(stderr.String(), `"msg":"request"`) || strings.Contains(stderr.String(), serveTestToken) {
		t.Fatalf("request log missing, or it holds the token:\n%.3000s", stderr.String())
	}
}

package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretNeverLeaks: neither the server's token nor a wrong one presented to it reaches
// the logs, an answer or the archive, whatever the request.
func TestSecretNeverLeaks(t *testing.T) {
	const wrong = "wrong-secret-7c1d2e3f4a5b"
	dir := t.TempDir()
	s, logs := newServer(t, WithArchive(dir), WithLive(liveFrom(t, "healthy__canary-25.json", nil)))
	canary := map[string]string{"runbook": "runbook", "environment": "production", "step": "25",
		"now": "2026-11-25T14:01:00Z", "cutover_at": "2026-11-25T13:20:00Z", "step_started_at": "2026-11-25T13:46:00Z"}
	withToken := func(tok string, extra map[string]string) []byte {
		md := map[string]string{"token": tok}
		for k, v := range canary {
			md[k] = v
		}
		for k, v := range extra {
			md[k] = v
		}
		return flaggerBody(t, md)
	}
	tests := []struct {
		name, method, path, token string
		body                      []byte
	}{
		{"decide", "POST", "/v1/decide?runbook=runbook", testToken, scenario(t, "healthy__canary-25.json")},
		{"decide with a wrong token", "POST", "/v1/decide?runbook=runbook", wrong, scenario(t, "healthy__canary-25.json")},
		{"token echoed in a field", "POST", "/v1/decide?runbook=runbook", testToken, []byte(`{"gate":"window","environment":"production","launch_id":"` + testToken + `/x","facts":{}}`)},
		{"token echoed in the gate", "POST", "/v1/decide?runbook=runbook", testToken, []byte(`{"gate":"` + testToken + `","environment":"production","facts":{}}`)},
		{"flagger metadata token", "POST", "/v1/flagger/confirm-traffic-increase", "", withToken(testToken, nil)},
		{"flagger wrong metadata token", "POST", "/v1/flagger/confirm-traffic-increase", "", withToken(wrong, nil)},
		{"flagger token echoed in the step", "POST", "/v1/flagger/confirm-traffic-increase", "", withToken(testToken, map[string]string{"step": testToken})},
		{"readyz", "GET", "/readyz", "", nil},
	}
	var answers bytes.Buffer
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, tt.path, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rr := httptest.NewRecorder()
			s.ServeHTTP(rr, req)
			answers.Write(rr.Body.Bytes())
			for k, v := range rr.Header() {
				answers.WriteString(k + ": " + strings.Join(v, ",") + "\n")
			}
		})
	}
	var archived bytes.Buffer
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			archived.Write(b)
		}
		return nil
	})
	if archived.Len() == 0 || !strings.Contains(logs.String(), `"decision_id"`) || !strings.Contains(answers.String(), `"decision"`) {
		t.Fatal("nothing was decided, logged or archived: the test would prove nothing")
	}
	for _, secret := range []string{testToken, wrong} {
		for where, text := range map[string]string{"logs": logs.String(), "answers": answers.String(), "archive": archived.String()} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contain the token %q", where, secret)
			}
		}
	}
}

package health

import (
	"testing"
)

// FuzzParse feeds arbitrary health responses to the parser: it must never panic, and what
// it reports must stay within the fact's vocabulary and fail closed.
func FuzzParse(f *testing.F) {
	seeds := []struct {
		mediaType string
		code      int
		body      string
	}{
		{"application/health+json", 200, `{"status":"pass"}`},
		{"application/health+json", 200, `{"status":"pass","checks":{"db:connections":[{"status":"warn","observedValue":48}],"uptime":[{"status":"pass"}]}}`},
		{"application/health+json", 503, `{"status":"fail","checks":{"db":{"status":"fail"}}}`},
		{"application/health+json", 200, `{"status":"pass","checks":[1,2]}`},
		{"application/vnd.spring-boot.actuator.v3+json", 200, `{"status":"UP","components":{"db":{"status":"UP","components":{"a":{"status":"DOWN"}}}}}`},
		{"application/json", 503, `{"status":"OUT_OF_SERVICE"}`},
		{"application/json", 200, `{"status":"UNKNOWN","details":{"x":{"status":"UP"}}}`},
		{"application/json", 200, `{"status":"ok"}`},
		{"application/json", 200, `{"status":401}`},
		{"application/json", 200, `{"status":"pa`},
		{"application/json", 200, `[]`},
		{"application/json", 200, `null`},
		{"text/plain", 200, "ok\n"},
		{"text/plain", 503, "unhealthy"},
		{"", 204, ""},
		{"text/html", 200, "<html><body>Bad Gateway</body></html>"},
		{"", 200, "<!DOCTYPE html>"},
		{"text/plain", 200, "\xff\xfe{"},
	}
	for _, s := range seeds {
		f.Add(s.mediaType, s.code, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, mediaType string, code int, body []byte) {
		r := parse(mediaType, code, body)
		switch r.Status {
		case "", Pass, Warn, Fail:
		default:
			t.Fatalf("status %q outside pass|warn|fail", r.Status)
		}
		if (code < 200 || code >= 300) && r.Status != "" && r.Status != Fail {
			t.Fatalf("HTTP %d reported as %q; a non-2xx answer is never healthy", code, r.Status)
		}
		if r.Err == "" && r.Status == "" {
			t.Fatalf("neither a status nor an error for %q", body)
		}
		if r.Format == FormatPlain && r.Err == "" && r.Status != Pass {
			t.Fatalf("plain answer without error must be pass: %+v", r)
		}
	})
}

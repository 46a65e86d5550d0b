package post

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/notify/types"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		h    string
		want time.Duration
	}{
		{"empty", "", 0},
		{"seconds", "7", 7 * time.Second},
		{"spaces", " 2 ", 2 * time.Second},
		{"zero", "0", 0},
		{"negative", "-3", 0},
		{"http date ahead", "Thu, 26 Nov 2026 14:00:30 GMT", 30 * time.Second},
		{"http date past", "Thu, 26 Nov 2026 13:00:00 GMT", 0},
		{"garbage", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RetryAfter(tt.h, now); got != tt.want {
				t.Errorf("RetryAfter(%q) = %v, want %v", tt.h, got, tt.want)
			}
		})
	}
}

func TestParseURL(t *testing.T) {
	const secret = "xoxb-s3cr3t-0042"
	tests := []struct {
		name, raw, err string
	}{
		{"ok https", "https://hooks.slack.com/services/T/B/" + secret, ""},
		{"ok http loopback", "http://127.0.0.1:9/hook", ""},
		{"empty", "  ", "empty URL"},
		{"no scheme", "hooks.slack.com/services/" + secret, "not an http or https URL"},
		{"other scheme", "ftp://example.com/" + secret, "not an http or https URL"},
		{"no host", "http:///" + secret, "no host"},
		{"unparsable", "http://[::1/" + secret, "not a URL"},
		{"control character", "http://example.com/\x7f" + secret, "not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseURL(tt.raw)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("ParseURL: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error = %v, want %q", err, tt.err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error repeats the URL: %v", err)
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		text string
		gone []string
		kept []string
	}{
		{"slack hook path", "https://hooks.slack.com/services/T0001/B0002/abcdefghijklmnopqrstuvwx",
			"no_service for services/T0001/B0002/abcdefghijklmnopqrstuvwx; token abcdefghijklmnopqrstuvwx revoked",
			[]string{"abcdefghijklmnopqrstuvwx", "T0001/B0002"}, []string{"no_service", "revoked"}},
		{"query token", "https://status.example.com/api/hook?key=k3y-0123456789&x=1",
			"rejected k3y-0123456789", []string{"k3y-0123456789"}, []string{"rejected"}},
		{"userinfo", "https://bot:pa55w0rd-long@hooks.example.com/x", "auth pa55w0rd-long failed",
			[]string{"pa55w0rd-long"}, []string{"auth", "failed"}},
		{"short path kept", "http://127.0.0.1:8080/hook", "webhook: HTTP 500 from 127.0.0.1:8080",
			nil, []string{"webhook: HTTP 500 from 127.0.0.1:8080"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := engine.Redact(tt.text, Secrets(tt.raw)...)
			for _, g := range tt.gone {
				if strings.Contains(got, g) {
					t.Errorf("%q still contains %q", got, g)
				}
			}
			for _, k := range tt.kept {
				if !strings.Contains(got, k) {
					t.Errorf("%q lost %q", got, k)
				}
			}
		})
	}
}

func TestSnippet(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"short", " invalid_payload \n", 20, "invalid_payload"},
		{"folds whitespace", "a\n\tb  c", 20, "a b c"},
		{"cut on a rune", "ab€cd", 4, "ab…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Snippet([]byte(tt.in), tt.max); got != tt.want {
				t.Errorf("Snippet = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	const secret = "hook-t0ken-abcdef123456"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved/" + secret:
			http.Redirect(w, r, "/ok", http.StatusTemporaryRedirect)
		case "/slow/" + secret:
			// Reading the body lets the server notice the client giving up.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case "/limited/" + secret:
			w.Header().Set("Retry-After", "12")
			http.Error(w, "slow down, "+r.URL.Path, http.StatusTooManyRequests)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	followAll := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}

	status, err := JSON(t.Context(), Client(nil), srv.URL+"/ok/"+secret, map[string]int{"a": 1}, nil)
	if status != 204 || err != nil {
		t.Errorf("2xx: %d, %v", status, err)
	}
	status, err = JSON(t.Context(), Client(followAll), srv.URL+"/moved/"+secret, map[string]int{"a": 1}, nil)
	if status != 307 || err == nil {
		t.Errorf("redirect: %d, %v; want the 307 itself, not followed", status, err)
	}
	status, err = JSON(t.Context(), Client(nil), srv.URL+"/limited/"+secret, map[string]int{"a": 1}, nil)
	var he *types.HTTPError
	if status != 429 || !errors.As(err, &he) || he.RetryAfter != 12*time.Second || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "slow down") {
		t.Errorf("429: %d, %v", status, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	status, err = JSON(ctx, Client(nil), srv.URL+"/slow/"+secret, map[string]int{"a": 1}, nil)
	if status != 0 || !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), srv.URL) {
		t.Errorf("timeout: %d, %v; want a deadline error without the URL", status, err)
	}
}

package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParsePathAndLookup(t *testing.T) {
	doc, err := DecodeJSON([]byte(`{"commit":"a","build":{"git":{"sha":"b"},"n":1},"builds":[{"sha":"c"},{"sha":"d"}],"nil":null}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		want    string
		found   bool
		wantErr string
	}{
		{"top level", "commit", "a", true, ""},
		{"dotted", "build.git.sha", "b", true, ""},
		{"JSONPath prefix", "$.build.git.sha", "b", true, ""},
		{"leading dot", ".commit", "a", true, ""},
		{"numeric segment", "builds.1.sha", "d", true, ""},
		{"bracket index", "builds[0].sha", "c", true, ""},
		{"missing key", "build.git.tag", "", false, ""},
		{"index out of range", "builds[5].sha", "", false, ""},
		{"through a string", "commit.sha", "", false, ""},
		{"number", "build.n", "", true, "build.n is a number, not a string"},
		{"object", "build", "", true, "build is an object, not a string"},
		{"null", "nil", "", true, "nil is a null, not a string"},
		{"empty path", "", "", false, "empty JSON path"},
		{"empty segment", "build..sha", "", false, "empty segment"},
		{"bad index", "builds[x]", "", false, "not an array index"},
		{"unbalanced", "builds[0.sha", "", false, "unbalanced bracket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found, err := LookupString(doc, tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want || found != tt.found {
				t.Errorf("LookupString(%q) = %q, %v, %v; want %q, %v", tt.path, got, found, err, tt.want, tt.found)
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct{ name, body, wantErr string }{
		{"object", `{"a":1}`, ""},
		{"empty", ``, "empty body"},
		{"truncated", `{"a":`, "truncated"},
		{"trailing", `{"a":1}}`, "unexpected data after"},
		{"syntax", `{a:1}`, "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeJSON([]byte(tt.body))
			if (tt.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestGet(t *testing.T) {
	const secret = "tok-0123456789"
	mux := http.NewServeMux()
	mux.HandleFunc("/auth", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Header.Get("Authorization"))
	})
	mux.HandleFunc("/redirect/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		if n == 0 {
			fmt.Fprint(w, "arrived")
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/redirect/%d", n-1), http.StatusFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprint(w, strings.Repeat("x", 2000))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	env := func(name string) (string, bool) {
		if name == "TOKEN" {
			return secret, true
		}
		return "", false
	}
	tests := []struct {
		name     string
		cfg      Config
		path     string
		wantBody string
		wantErr  string
		tooLarge bool
	}{
		{"bearer token", Config{TokenEnv: "TOKEN", LookupEnv: env}, "/auth", "Bearer " + secret, "", false},
		{"no token", Config{}, "/auth", "", "", false},
		{"token variable unset", Config{TokenEnv: "MISSING", LookupEnv: env}, "/auth", "", "MISSING is not set", false},
		{"five redirects followed", Config{}, "/redirect/5", "arrived", "", false},
		{"six redirects refused", Config{}, "/redirect/6", "", "stopped after 5 redirects", false},
		{"body over the limit", Config{MaxBody: 1000}, "/big", "", "exceeds the limit of 1000 bytes", true},
		{"timeout", Config{Timeout: 100 * time.Millisecond}, "/slow", "", "no complete answer within the 100ms timeout", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := Get(context.Background(), tt.cfg, srv.URL+tt.path+"?token="+secret, "")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error repeats the URL's secret: %v", err)
				}
				if errors.Is(err, ErrTooLarge) != tt.tooLarge {
					t.Errorf("errors.Is(ErrTooLarge) = %v", !tt.tooLarge)
				}
				if tt.tooLarge && (resp == nil || resp.StatusCode != 200 || resp.ContentType != "application/json") {
					t.Errorf("a too-large answer still returns its status: %+v", resp)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(resp.Body) != tt.wantBody {
				t.Errorf("body = %q, want %q", resp.Body, tt.wantBody)
			}
		})
	}
	t.Run("closed port error has no URL", func(t *testing.T) {
		_, err := Get(context.Background(), Config{}, "http://127.0.0.1:1/x?token="+secret, "")
		if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("caller's client is not modified", func(t *testing.T) {
		cl := &http.Client{}
		c := Config{Client: cl}.Normalized()
		if cl.CheckRedirect != nil || c.Client == cl || c.Client.CheckRedirect == nil {
			t.Error("Normalized must copy the client and limit redirects on the copy")
		}
	})
}

func TestHelpers(t *testing.T) {
	t.Run("MediaType", func(t *testing.T) {
		for in, want := range map[string]string{"Application/Health+JSON; charset=utf-8": "application/health+json", "": "", "text/html;;": "text/html"} {
			if got := MediaType(in); got != want {
				t.Errorf("MediaType(%q) = %q, want %q", in, got, want)
			}
		}
	})
	t.Run("IsHTML", func(t *testing.T) {
		if !IsHTML("", []byte("  <!DOCTYPE html><html>")) || !IsHTML("text/html", nil) || IsHTML("text/plain", []byte("ok")) {
			t.Error("IsHTML")
		}
	})
	t.Run("Snippet", func(t *testing.T) {
		if got := Snippet([]byte("a\n\n  b\x00c"), 100); got != "a b c" {
			t.Errorf("Snippet = %q", got)
		}
		if got := Snippet([]byte("abcdef"), 3); got != "abc…" {
			t.Errorf("Snippet = %q", got)
		}
	})
	t.Run("FirstLine", func(t *testing.T) {
		if got, ok := FirstLine([]byte("\n  ok  \nmore"), 10); !ok || got != "ok" {
			t.Errorf("FirstLine = %q %v", got, ok)
		}
		if _, ok := FirstLine([]byte(strings.Repeat("x", 11)), 10); ok {
			t.Error("a long line must not be a status")
		}
	})
	t.Run("Size", func(t *testing.T) {
		for n, want := range map[int64]string{1 << 20: "1 MiB", 1024: "1 KiB", 1000: "1000 bytes"} {
			if got := Size(n); got != want {
				t.Errorf("Size(%d) = %q", n, got)
			}
		}
	})
	t.Run("ReadFile", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, []byte("12345"), 0o600); err != nil {
			t.Fatal(err)
		}
		if b, err := ReadFile(p, 5); err != nil || string(b) != "12345" {
			t.Errorf("ReadFile = %q, %v", b, err)
		}
		if _, err := ReadFile(p, 4); !errors.Is(err, ErrTooLarge) {
			t.Errorf("err = %v, want ErrTooLarge", err)
		}
		if _, err := ReadFile(dir, 4); err == nil || !strings.Contains(err.Error(), "directory") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("AllFailed", func(t *testing.T) {
		got := AllFailed("instance", []string{"a", "b", "c", "d"}, []string{"e1", "e2", "e3", "e4"})
		if got != "every instance failed (4): a: e1; b: e2; c: e3; and 1 more" {
			t.Errorf("AllFailed = %q", got)
		}
	})
}

func TestCollectionDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Get(ctx, Config{Timeout: 10 * time.Second}, srv.URL, "")
	if err == nil || !strings.Contains(err.Error(), "before the collection deadline") || time.Since(start) > 2*time.Second {
		t.Errorf("err = %v after %v", err, time.Since(start))
	}
}

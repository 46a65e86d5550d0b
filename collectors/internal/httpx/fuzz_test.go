package httpx

import (
	"strings"
	"testing"
)

// FuzzParseBuild feeds arbitrary version responses and JSON paths to the version parser:
// it must never panic, and an accepted answer always names a commit.
func FuzzParseBuild(f *testing.F) {
	f.Add("application/json", 200, []byte(`{"version":"2.4.0","commit":"86f7e43","image":"r@sha256:abc"}`), "commit", "image")
	f.Add("application/json", 200, []byte(`{"build":{"git":{"sha":"86f7e43"}},"builds":[{"image":"x"}]}`), "build.git.sha", "builds[0].image")
	f.Add("application/json", 200, []byte(`{"version":"86f7e43"}`), "$.version", "")
	f.Add("text/plain", 200, []byte("86f7e437faa5a7fce15d1ddcb9eaeaea377667b8\n"), "", "")
	f.Add("text/html", 200, []byte("<html>"), "", "")
	f.Add("application/json", 500, []byte(`{}`), "a..b", "[x]")
	f.Add("application/json", 200, []byte(`{"a":[1,{"b":2}]}`), "a.1.b", "a[7]")
	f.Fuzz(func(t *testing.T, mediaType string, code int, body []byte, commitPath, imagePath string) {
		b, err := ParseBuild(mediaType, code, body, commitPath, imagePath)
		if err != nil {
			return
		}
		if strings.TrimSpace(b.Commit) == "" {
			t.Fatalf("accepted without a commit: %+v", b)
		}
		if code < 200 || code >= 300 {
			t.Fatalf("accepted HTTP %d", code)
		}
	})
}

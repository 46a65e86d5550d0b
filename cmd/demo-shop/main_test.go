package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRunErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "no command"},
		{"unknown command", []string{"deploy"}, `unknown command "deploy"`},
		{"serve without release", []string{"serve", "--track", "canary"}, "--release and --track are required"},
		{"serve unknown release", []string{"serve", "--track", "canary", "--release", "2.0.0"}, `unknown release "2.0.0"`},
		{"serve bad ratio", []string{"serve", "--track", "canary", "--release", "1.1.0", "--error-ratio", "2"}, "must be from 0 to 1"},
		{"router bad url", []string{"router", "--stable", "stable:8080", "--canary", "http://c"}, `--stable "stable:8080": must be an http(s) base URL`},
		{"router bad weight", []string{"router", "--stable", "http://s", "--canary", "http://c", "--weight", "200"}, "must be a percentage"},
		{"shift without router", []string{"shift", "--canary", "5"}, "--router and --canary are required"},
		{"releases unknown", []string{"releases", "--release", "0.1"}, "unknown release"},
		{"wait without url", []string{"wait"}, "--url is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("DEMO_RELEASE", "")
			t.Setenv("DEMO_TRACK", "")
			t.Setenv("DEMO_ROUTER_URL", "")
			var out, errb bytes.Buffer
			err := run(tc.args, &out, &errb)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%q) = %v, want an error containing %q", tc.args, err, tc.want)
			}
		})
	}
}

func TestReleasesCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"releases", "--release", "1.1.1"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var rel Release
	if err := json.Unmarshal(out.Bytes(), &rel); err != nil {
		t.Fatal(err)
	}
	if rel != mustLookup(t, "1.1.1") {
		t.Errorf("releases printed %+v", rel)
	}
}

func TestShiftAndWait(t *testing.T) {
	router, rt := cohorts(t, 0)
	var out bytes.Buffer
	if err := run([]string{"shift", "--router", router.URL, "--canary", "25"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "canary weight 25%\n" || rt.Weight() != 25 {
		t.Errorf("shift printed %q, weight %d", out.String(), rt.Weight())
	}
	if err := run([]string{"wait", "--url", router.URL + "/-/healthz", "--timeout", "2s"}, &out, &bytes.Buffer{}); err != nil {
		t.Error(err)
	}
	dead := httptest.NewServer(nil)
	dead.Close()
	start := time.Now()
	err := run([]string{"wait", "--url", dead.URL, "--timeout", "300ms"}, &out, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "not ready after 300ms") || time.Since(start) > 3*time.Second {
		t.Errorf("wait on a closed server: %v after %s", err, time.Since(start))
	}
}

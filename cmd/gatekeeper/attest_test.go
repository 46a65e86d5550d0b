package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatekeeper-dev/gatekeeper/archive"
)

func TestAttest(t *testing.T) {
	key, _ := keygen(t)
	dir := signedArchive(t, []string{"--sign-key", key}, signScenarios...)
	t.Setenv(signingKeyEnv, "")
	tests := []struct {
		name   string
		args   []string
		exit   int
		stderr string
	}{
		{name: "no key", args: []string{"--by", "Dana", "--check", "checkout by hand", "--result", "pass"}, exit: 1, stderr: "signing key is required"},
		{name: "manual check", args: []string{"--by", "Dana Ortiz", "--check", "checkout by hand", "--result", "fail", "--critical", "--note", "card form 500s", "--sign-key", key}},
		{name: "commander's call", args: []string{"--by", "Dana Ortiz", "--call", "hold", "--sign-key", key}},
		{name: "bad result", args: []string{"--by", "Dana", "--check", "x", "--result", "maybe", "--sign-key", key}, exit: 1, stderr: "want pass or fail"},
		{name: "check and call", args: []string{"--by", "Dana", "--check", "x", "--result", "pass", "--call", "hold", "--sign-key", key}, exit: 1, stderr: "not both"},
		{name: "bad call", args: []string{"--by", "Dana", "--call", "panic", "--sign-key", key}, exit: 1, stderr: "hold, rollback or resume"},
		{name: "neither", args: []string{"--by", "Dana", "--sign-key", key}, exit: 1, stderr: "give --check"},
		{name: "no archive there", args: []string{"--by", "Dana", "--call", "hold", "--sign-key", key, "--archive", filepath.Join(t.TempDir(), "none")}, exit: 1, stderr: "not an archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"attest"}, tt.args...)
			if !contains(tt.args, "--archive") {
				args = append(args, "--archive", dir)
			}
			code, _, stderr := gk(t, args...)
			if code != tt.exit || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d with %q", code, stderr, tt.exit, tt.stderr)
			}
		})
	}
	a, err := archive.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	events, err := a.Events()
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 {
		t.Fatalf("%d events, want the 2 valid attestations", len(events))
	}
	ev := events[0]
	if ev.Signature == nil || ev.Event.Type != "attestation" || ev.Event.Data["kind"] != "manual_check" ||
		ev.Event.Data["result"] != "fail" || ev.Event.Data["critical"] != true || ev.Event.Data["by"] != "Dana Ortiz" {
		t.Errorf("attestation event %+v signed=%v", ev.Event, ev.Signature != nil)
	}
	if d := events[1].Event.Data; d["kind"] != "call" || d["call"] != "hold" {
		t.Errorf("call event %v", d)
	}
	// The signed events keep the archive verifiable, signatures required.
	if code, out, stderr := gk(t, "replay", dir, "--public-key", key+".pub", "--require-signatures"); code != 0 || !strings.Contains(out+stderr, "verified") {
		t.Fatalf("replay after attest: exit %d\n%s\n%s", code, out, stderr)
	}
}

package archive

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func TestEventsInTheChain(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	priv, _, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	a.SignWith(priv)
	if _, err := testAppend(a, "d1"); err != nil {
		t.Fatal(err)
	}
	ev, err := a.AppendEvent(Event{Type: EventAttestation, At: "2026-11-25T14:06:00Z", Data: map[string]any{"by": "Dana Ortiz", "check": "refund works", "result": "fail", "critical": true}})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := testAppend(a, "d2")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	if lines := bytes.Split(b, []byte("\n")); d2.Prev != engine.DigestBytes(lines[1]) {
		t.Fatalf("decision after the event has prev %s, want the event line's digest", d2.Prev)
	}
	if ev.Signature == nil {
		t.Fatal("event not signed by a signing archive")
	}
	var decisions, all int
	if err := a.Walk(func(_ int, e *Entry, input []byte) error {
		if e.Event != nil || input == nil {
			t.Errorf("Walk yielded an event or a decision without input: %+v", e)
		}
		decisions++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := a.WalkAll(func(_ int, e *Entry, _ []byte) error { all++; return nil }); err != nil {
		t.Fatal(err)
	}
	if decisions != 2 || all != 3 {
		t.Fatalf("Walk saw %d decisions, WalkAll %d entries; want 2 and 3", decisions, all)
	}
	evs, err := a.Events()
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Event.Type != EventAttestation || evs[0].Event.Data["check"] != "refund works" {
		t.Fatalf("Events = %+v", evs)
	}
}

func TestEventTamperAndBadInput(t *testing.T) {
	tests := []struct {
		name   string
		mutate func([]byte) []byte
		want   string
	}{
		{"changed byte in event data", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"result":"fail"`), []byte(`"result":"pass"`), 1)
		}, "record 2: content does not match its digest"},
		{"event removed", func(b []byte) []byte {
			lines := bytes.SplitAfter(b, []byte("\n"))
			return bytes.Join(append(lines[:1:1], lines[2:]...), nil)
		}, "record 2: chain break"},
		{"unknown kind", func(b []byte) []byte { return bytes.Replace(b, []byte(`"kind":"event"`), []byte(`"kind":"note"`), 1) }, "record 2:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			a := openTest(t, dir)
			for _, step := range []func() error{
				func() error { _, err := testAppend(a, "d1"); return err },
				func() error {
					_, err := a.AppendEvent(Event{Type: EventAttestation, At: "2026-11-25T14:06:00Z", Data: map[string]any{"result": "fail"}})
					return err
				},
				func() error { _, err := testAppend(a, "d2"); return err },
			} {
				if err := step(); err != nil {
					t.Fatal(err)
				}
			}
			p := filepath.Join(dir, RecordsFile)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, tt.mutate(b), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Verify(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	t.Run("invalid event", func(t *testing.T) {
		a := openTest(t, t.TempDir())
		for _, ev := range []Event{{At: "2026-11-25T14:06:00Z"}, {Type: EventHook, At: "yesterday"}} {
			if _, err := a.AppendEvent(ev); err == nil {
				t.Errorf("AppendEvent(%+v) = nil error", ev)
			}
		}
	})
}

package archive

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func TestSignedAppendWalk(t *testing.T) {
	priv, pemBytes, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if back, err := ParsePrivateKey(pemBytes); err != nil || !back.Equal(priv) {
		t.Fatalf("ParsePrivateKey(PEM) = %v", err)
	}
	if back, err := ParsePrivateKey([]byte(base64.StdEncoding.EncodeToString(priv.Seed()))); err != nil || !back.Equal(priv) {
		t.Fatalf("ParsePrivateKey(base64 seed) = %v", err)
	}
	fp := Fingerprint(priv.Public().(ed25519.PublicKey))
	tests := []struct {
		name   string
		sign   bool
		policy SigPolicy
		want   string // "" when the walk verifies
	}{
		{"signed", true, SigPolicy{}, ""},
		{"signed-required", true, SigPolicy{Require: true}, ""},
		{"signed-right-key", true, SigPolicy{Fingerprint: fp}, ""},
		{"signed-wrong-key", true, SigPolicy{Fingerprint: "sha256:00"}, "record 1: signed by key"},
		{"unsigned", false, SigPolicy{}, ""},
		{"unsigned-with-key", false, SigPolicy{Fingerprint: fp}, ""},
		{"unsigned-required", false, SigPolicy{Require: true}, "record 1: not signed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			a := openTest(t, dir)
			if tt.sign {
				a.SignWith(priv)
			}
			for _, tag := range []string{"a", "b"} {
				e, err := testAppend(a, tag)
				if err != nil {
					t.Fatal(err)
				}
				if (e.Signature != nil) != tt.sign {
					t.Fatalf("signature %+v, want signed=%v", e.Signature, tt.sign)
				}
			}
			r := openTest(t, dir)
			r.RequireSignatures(tt.policy)
			err := r.Walk(nil)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Walk = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestStrippedSignature(t *testing.T) {
	priv, _, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		signFirst bool
		signLast  bool
		strip     bool // strip the last record's signature after the fact
		want      string
	}{
		{"all signed", true, true, false, ""},
		{"last signature stripped", true, true, true, "record 2: not signed, but an earlier decision"},
		{"signing switched off", true, false, false, "record 2: not signed, but an earlier decision"},
		{"signing switched on", false, true, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			a := openTest(t, dir)
			for i, sign := range []bool{tt.signFirst, tt.signLast} {
				a.SignWith(nil)
				if sign {
					a.SignWith(priv)
				}
				if _, err := testAppend(a, string(rune('a'+i))); err != nil {
					t.Fatal(err)
				}
			}
			if tt.strip {
				p := filepath.Join(dir, RecordsFile)
				b, _ := os.ReadFile(p)
				lines := strings.SplitAfter(string(b), "\n")
				m, err := generic(json.RawMessage(strings.TrimSuffix(lines[1], "\n")))
				if err != nil || m["signature"] == nil {
					t.Fatalf("no signature to strip (%v)", err)
				}
				delete(m, "signature")
				c, err := engine.Canonical(m)
				if err != nil {
					t.Fatal(err)
				}
				lines[1] = string(c) + "\n"
				os.WriteFile(p, []byte(strings.Join(lines, "")), 0o644)
			}
			_, err := Verify(dir)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Verify = %v, want %q", err, tt.want)
			}
		})
	}
}

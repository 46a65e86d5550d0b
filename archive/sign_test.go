package archive

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
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

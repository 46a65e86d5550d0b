package main

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// keygen runs `gatekeeper keygen` into a temporary file and returns the key file and stdout.
func keygen(t *testing.T) (string, string) {
	t.Helper()
	key := filepath.Join(t.TempDir(), "gk.key")
	code, out, stderr := gk(t, "keygen", "-o", key)
	if code != 0 {
		t.Fatalf("keygen: exit %d\n%s", code, stderr)
	}
	return key, out
}

// signedArchive archives the named scenarios into a new archive, signing with extra's key flags.
func signedArchive(t *testing.T, extra []string, names ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "signed")
	for _, s := range loadScenarios(t) {
		if !contains(names, strings.TrimSuffix(s.File, ".json")) {
			continue
		}
		args := append(append(s.args("json"), "--archive", dir), extra...)
		if code, _, stderr := gk(t, args...); code != s.Exit {
			t.Fatalf("%s: exit %d, want %d\n%s", s.File, code, s.Exit, stderr)
		}
	}
	return dir
}

var signScenarios = []string{"healthy__pre-cutover", "sustained-errors__canary-25", "healthy__window"}

func TestKeygen(t *testing.T) {
	key, out := keygen(t)
	st, err := os.Stat(key)
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := os.ReadFile(key)
	priv, err := archive.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	pubFile, _ := os.ReadFile(key + ".pub")
	pub, err := archive.ParsePublicKey(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ok   bool
	}{
		{"mode-0600", st.Mode().Perm() == 0o600},
		{"prints-public-key", strings.Contains(out, archive.EncodePublicKey(pub))},
		{"prints-fingerprint", strings.Contains(out, archive.Fingerprint(pub))},
		{"pub-file-matches-key", priv.Public().(ed25519.PublicKey).Equal(pub)},
		{"never-prints-private-key", !strings.Contains(out, "PRIVATE KEY") && !strings.Contains(out, strings.Split(string(pem), "\n")[1])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Fatalf("failed; output:\n%s", out)
			}
		})
	}
	t.Run("refuses-overwrite", func(t *testing.T) {
		if code, _, _ := gk(t, "keygen", "-o", key); code == 0 {
			t.Fatal("keygen overwrote an existing key")
		}
	})
}

func TestSignedReplay(t *testing.T) {
	key, _ := keygen(t)
	other, _ := keygen(t)
	pemBytes, _ := os.ReadFile(key)
	priv, _ := archive.ParsePrivateKey(pemBytes)
	fp := archive.Fingerprint(priv.Public().(ed25519.PublicKey))
	signed := signedArchive(t, []string{"--sign-key", key}, signScenarios...)
	unsigned := smallArchive(t)

	// tamperSig changes one character of record n's signature, keeping it valid base64.
	tamperSig := func(t *testing.T, dir string, n int) {
		recs := readRecords(t, dir)
		p := filepath.Join(dir, archive.RecordsFile)
		b, _ := os.ReadFile(p)
		sig := recs[n-1].Signature.Sig
		c := byte('A')
		if sig[0] == 'A' {
			c = 'B'
		}
		bad := string(c) + sig[1:]
		if err := os.WriteFile(p, bytes.Replace(b, []byte(sig), []byte(bad), 1), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		dir    string
		change func(t *testing.T, dir string)
		args   []string
		code   int
		want   string
	}{
		{"signed-verifies", signed, nil, nil, 0, "3 records verified"},
		{"signed-right-public-key", signed, nil, []string{"--public-key", key + ".pub"}, 0, "3 records verified"},
		{"signed-right-fingerprint", signed, nil, []string{"--fingerprint", fp}, 0, "3 records verified"},
		{"signed-require-signatures", signed, nil, []string{"--require-signatures"}, 0, "3 records verified"},
		{"signed-wrong-public-key", signed, nil, []string{"--public-key", other + ".pub"}, 4, "record 1: signed by key " + fp + ", not by the required key"},
		{"signed-wrong-fingerprint", signed, nil, []string{"--fingerprint", "sha256:" + strings.Repeat("0", 64)}, 4, "record 1: signed by key"},
		{"tampered-signature", signed, func(t *testing.T, d string) { tamperSig(t, d, 2) }, nil, 4, "record 2: signature by key " + fp + " does not verify"},
		{"tampered-last-signature", signed, func(t *testing.T, d string) { tamperSig(t, d, 3) }, nil, 4, "record 3: signature by key"},
		{"unsigned-valid", unsigned, nil, nil, 0, "3 records verified"},
		{"unsigned-valid-with-key", unsigned, nil, []string{"--public-key", key + ".pub"}, 0, "3 records verified"},
		{"unsigned-required", unsigned, nil, []string{"--require-signatures"}, 4, "record 1: not signed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir
			if tt.change != nil {
				dir = copyDir(t, dir)
				tt.change(t, dir)
			}
			code, out, stderr := gk(t, append([]string{"replay", dir}, tt.args...)...)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d, want %d with %q\n%s%s", code, tt.code, tt.want, out, stderr)
			}
		})
	}
	t.Run("records-carry-signature", func(t *testing.T) {
		for i, r := range readRecords(t, signed) {
			if r.Signature == nil || r.Signature.Alg != "ed25519" || r.Signature.KeyFingerprint != fp || r.Signature.PublicKey == "" {
				t.Fatalf("record %d: signature %+v", i+1, r.Signature)
			}
		}
	})
}

func TestSigningKeyFromEnv(t *testing.T) {
	key, _ := keygen(t)
	pemBytes, _ := os.ReadFile(key)
	tests := []struct {
		name string
		env  string
		code int
		want string
	}{
		{"pem-in-env", string(pemBytes), engine.ExitGo, ""},
		{"garbage-in-env", "not-a-key-SECRETVALUE", engine.ExitError, "$GATEKEEPER_SIGNING_KEY: signing key: neither PEM nor base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(signingKeyEnv, tt.env)
			dir := filepath.Join(t.TempDir(), "a")
			var s scenario
			for _, x := range loadScenarios(t) {
				if x.File == "healthy__window.json" {
					s = x
				}
			}
			code, out, stderr := gk(t, append(s.args("json"), "--archive", dir)...)
			if strings.Contains(out+stderr, "SECRETVALUE") || strings.Contains(out+stderr, "PRIVATE KEY") {
				t.Fatalf("the key leaked into the output:\n%s%s", out, stderr)
			}
			if tt.code != engine.ExitGo {
				if code != tt.code || !strings.Contains(stderr, tt.want) {
					t.Fatalf("exit %d, want %d with %q\n%s", code, tt.code, tt.want, stderr)
				}
				return
			}
			if code != s.Exit {
				t.Fatalf("exit %d, want %d\n%s", code, s.Exit, stderr)
			}
			if r := readRecords(t, dir); len(r) != 1 || r[0].Signature == nil {
				t.Fatalf("record not signed: %+v", r)
			}
		})
	}
}

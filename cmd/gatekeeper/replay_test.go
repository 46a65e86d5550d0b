package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// archiveScenarios decides the named example scenarios (all when names is empty) with
// --archive into dir, one archive for the example launch, and returns how many it archived.
func archiveScenarios(t *testing.T, dir string, names ...string) int {
	t.Helper()
	n := 0
	for _, s := range loadScenarios(t) {
		name := strings.TrimSuffix(s.File, ".json")
		if len(names) > 0 && !contains(names, name) {
			continue
		}
		code, _, stderr := gk(t, append(s.args("json"), "--archive", dir)...)
		if code != s.Exit {
			t.Fatalf("%s: exit %d, want %d\n%s", name, code, s.Exit, stderr)
		}
		n++
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func readRecords(t *testing.T, dir string) []archive.Entry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, archive.RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	var out []archive.Entry
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var e archive.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestReplayRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shop-2.4.0-production")
	n := archiveScenarios(t, dir)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"text", nil, fmt.Sprintf("%d records verified, %d replayed, 0 mismatched\n", n, n)},
		{"json", []string{"-o", "json"}, `"mismatched": 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := gk(t, append([]string{"replay", dir}, tt.args...)...)
			if code != 0 || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d, want 0 and %q\n%s%s", code, tt.want, out, stderr)
			}
		})
	}
	t.Run("chain-and-dedup", func(t *testing.T) {
		recs := readRecords(t, dir)
		if len(recs) != n {
			t.Fatalf("%d records, want %d", len(recs), n)
		}
		uniq := map[string]bool{}
		runbooks, policies := map[string]bool{}, map[string]bool{}
		for i, r := range recs {
			if (i == 0) != (r.Prev == "") {
				t.Fatalf("record %d: prev %q", i+1, r.Prev)
			}
			for _, d := range []string{r.InputDigest, r.RunbookDigest, r.RunbookSource, r.PoliciesDigest} {
				uniq[d] = true
			}
			runbooks[r.RunbookSource] = true
			policies[r.PoliciesDigest] = true
		}
		if len(policies) != 1 || len(runbooks) != 2 {
			t.Fatalf("%d policy sets and %d runbook sources, want 1 and 2 (runbook.yaml, runbook-edited.yaml)", len(policies), len(runbooks))
		}
		es, _ := os.ReadDir(filepath.Join(dir, archive.ObjectsDir))
		if len(es) != len(uniq) {
			t.Fatalf("%d objects for %d distinct digests: blobs are not stored once", len(es), len(uniq))
		}
	})
}

// smallArchive archives three scenarios and returns the directory (copy it before changing it).
func smallArchive(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "a")
	archiveScenarios(t, dir, "healthy__pre-cutover", "sustained-errors__canary-25", "healthy__window")
	return dir
}

func TestReplayDetectsTampering(t *testing.T) {
	src := smallArchive(t)
	recs := filepath.Join(src, archive.RecordsFile)
	b, err := os.ReadFile(recs)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	lines = lines[:len(lines)-1] // the empty string after the last newline
	lineOf := func(off int) int { return bytes.Count(b[:off], []byte("\n")) + 1 }

	type tamper struct {
		name   string
		change func(t *testing.T, dir string)
		want   string
	}
	var tests []tamper
	// A single flipped byte at a sample of offsets of records.jsonl.
	for off := 0; off < len(b); off += len(b)/60 + 1 {
		tests = append(tests, tamper{fmt.Sprintf("records-byte-%d", off), func(t *testing.T, dir string) {
			flip(t, filepath.Join(dir, archive.RecordsFile), off)
		}, fmt.Sprintf("record %d", lineOf(off))})
	}
	// A flipped byte at the start, middle and end of every blob; the first record uses every
	// shared blob, so each is reported at the first record that references it.
	es, _ := os.ReadDir(filepath.Join(src, archive.ObjectsDir))
	for _, e := range es {
		first := 0
		for i, l := range lines {
			if bytes.Contains(l, []byte(e.Name())) {
				first = i + 1
				break
			}
		}
		st, _ := e.Info()
		for _, off := range []int{0, int(st.Size()) / 2, int(st.Size()) - 1} {
			tests = append(tests, tamper{fmt.Sprintf("blob-%s-byte-%d", e.Name()[:8], off), func(t *testing.T, dir string) {
				flip(t, filepath.Join(dir, archive.ObjectsDir, e.Name()), off)
			}, fmt.Sprintf("record %d: %s", first, "")})
		}
	}
	write := func(parts ...[]byte) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, archive.RecordsFile), bytes.Join(parts, nil), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests = append(tests,
		tamper{"removed-middle-record", write(lines[0], lines[2]), "record 2: chain break"},
		tamper{"removed-first-record", write(lines[1], lines[2]), "record 1: chain break"},
		tamper{"reordered-records", write(lines[0], lines[2], lines[1]), "record 2: chain break"},
		tamper{"torn-last-line", write(lines[0], lines[1], lines[2][:len(lines[2])/2]), "record 3: torn write (no newline)"},
		tamper{"unknown-format-version", func(t *testing.T, dir string) {
			p := filepath.Join(dir, archive.MetaFile)
			m, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(m, []byte(`"format": 1`), []byte(`"format": 2`), 1), 0o644)
		}, "unknown format version 2"},
		tamper{"missing-blob", func(t *testing.T, dir string) {
			r := readRecords(t, dir)[0]
			os.Remove(filepath.Join(dir, archive.ObjectsDir, strings.TrimPrefix(r.PoliciesDigest, "sha256:")))
		}, "record 1: policies_digest: blob sha256:"},
		tamper{"missing-input-blob", func(t *testing.T, dir string) {
			r := readRecords(t, dir)[1]
			os.Remove(filepath.Join(dir, archive.ObjectsDir, strings.TrimPrefix(r.InputDigest, "sha256:")))
		}, "record 2: input_digest: blob sha256:"},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, src)
			tt.change(t, dir)
			code, out, stderr := gk(t, "replay", dir)
			if code != engine.ExitVerifyFailed || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d, want 4 with %q\n%s%s", code, tt.want, out, stderr)
			}
		})
	}
}

func flip(t *testing.T, path string, off int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x01
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReplayMismatch(t *testing.T) {
	dir := smallArchive(t)
	// Stand in for policies that now decide differently: a lower error-rate threshold
	// turns the healthy window's passing error-rate criterion into a breach.
	replayInputHook = func(e *archive.Entry, in map[string]any) {
		rb := in["runbook"].(map[string]any)
		rb["criteria"].(map[string]any)["error_rate"].(map[string]any)["max_ratio"] = 0.0001
	}
	defer func() { replayInputHook = nil }()
	code, out, stderr := gk(t, "replay", dir)
	if code != engine.ExitReplayMismatch || !strings.Contains(out, "MISMATCH") || !strings.Contains(out, "mismatched") {
		t.Fatalf("exit %d, want 5 with MISMATCH\n%s%s", code, out, stderr)
	}
}

// resigned writes the example runbook with max_ratio changed and a sign-off for its new content.
func resigned(t *testing.T, ratio string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/example/runbook.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("max_ratio: 0.02"), []byte("max_ratio: "+ratio), 1)
	p := filepath.Join(t.TempDir(), "runbook.yaml")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rb, err := engine.LoadRunbook(p)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte(rb.Spec.Signoff.Digest), []byte(rb.SignoffDigest), 1)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReplayWhatIf(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "launch")
	n := archiveScenarios(t, dir)
	// sustained-errors__canary-25's error ratio samples are 0.0503-0.0755: all strictly above
	// 0.05, so max_ratio 0.05 still breaches; at 0.06 some samples are below and it is no
	// longer sustained. Every other scenario's error rate is far from both thresholds (the
	// short spike is not sustained either way). runbook-edited__pre-cutover was decided no-go
	// on a runbook edited after sign-off; the what-if runbook is signed off, so it turns go.
	tests := []struct {
		name, ratio string
		changed     []string
	}{
		{"max-ratio-0.05", "0.05", []string{"pre-cutover -  2026-11-25T13:15:00Z  no-go → go"}},
		{"max-ratio-0.06", "0.06", []string{"canary 25  2026-11-25T14:01:00Z  rollback → go", "pre-cutover -  2026-11-25T13:15:00Z  no-go → go"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := gk(t, "replay", dir, dir, "--runbook", resigned(t, tt.ratio))
			if code != 0 {
				t.Fatalf("exit %d, want 0\n%s%s", code, out, stderr)
			}
			var got []string
			for _, l := range strings.Split(out, "\n") {
				if _, rest, ok := strings.Cut(l, " record "); ok && strings.Contains(l, "→") {
					got = append(got, rest[strings.Index(rest, "  ")+2:])
				}
			}
			var want []string
			for _, c := range tt.changed { // the archive was given twice
				want = append(want, c, c)
			}
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("changed records:\n%s\nwant:\n%s\n--- output\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), out)
			}
			if !strings.Contains(out, fmt.Sprintf("%d records verified, %d re-decided, %d would change", 2*n, 2*n, len(want))) {
				t.Fatalf("summary missing\n%s", out)
			}
		})
	}
}

// TestArchiveConcurrentProcesses runs two gatekeeper processes appending to one archive at once.
func TestArchiveConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "gatekeeper")
	if out, err := runCmd("go", "build", "-o", bin, "./cmd/gatekeeper"); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "launch")
	s := loadScenarios(t)
	errs := make(chan error, 2)
	for _, sc := range []scenario{s[1], s[2]} {
		go func() {
			for i := 0; i < 3; i++ {
				if out, err := runCmd(bin, append(sc.args("json"), "--archive", dir)...); err != nil && !strings.Contains(err.Error(), "exit status") {
					errs <- fmt.Errorf("%v\n%s", err, out)
					return
				}
			}
			errs <- nil
		}()
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	code, out, stderr := gk(t, "replay", dir)
	if code != 0 || !strings.Contains(out, "6 records verified, 6 replayed, 0 mismatched") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}

func runCmd(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}

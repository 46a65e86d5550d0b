package archive

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

var testPolicies = map[string]string{"policies/x.rego": "package x\n"}

// testAppend appends one synthetic record whose input is unique to tag.
func testAppend(a *Archive, tag string) (*Entry, error) {
	input, _ := engine.Canonical(map[string]any{"gate": "window", "tag": tag})
	rbNorm, _ := engine.Canonical(map[string]any{"service": "shop"})
	pd, _ := engine.Digest(stringMap(testPolicies))
	return a.Append(Blobs{Input: input, RunbookSource: []byte("service: shop\n"), RunbookNormalized: rbNorm, Policies: testPolicies},
		func(prev string) (*engine.Record, error) {
			return &engine.Record{
				DecisionID: tag, LaunchID: "shop-1-production", Environment: "production", Gate: engine.Window,
				Decision: engine.Go, Checks: []engine.Check{}, Warnings: []engine.Warning{}, Now: "2026-11-25T14:05:00Z",
				InputDigest: engine.DigestBytes(input), RunbookDigest: engine.DigestBytes(rbNorm), PoliciesDigest: pd,
				GatekeeperVersion: "test", Prev: prev,
			}, nil
		})
}

func openTest(t testing.TB, dir string) *Archive {
	t.Helper()
	a, err := OpenOrCreate(dir, "shop-1-production", "production")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func objects(t *testing.T, dir string) int {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(dir, ObjectsDir))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return n
}

func TestAppendVerify(t *testing.T) {
	tests := []struct {
		name    string
		records int
	}{
		{"one", 1},
		{"several", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			a := openTest(t, dir)
			for i := 0; i < tt.records; i++ {
				if _, err := testAppend(a, strconv.Itoa(i)); err != nil {
					t.Fatal(err)
				}
			}
			n, err := Verify(dir)
			if err != nil || n != tt.records {
				t.Fatalf("Verify = %d, %v; want %d records", n, err, tt.records)
			}
			// One input per record; runbook source, normalized runbook and policies once.
			if got, want := objects(t, dir), tt.records+3; got != want {
				t.Fatalf("%d objects, want %d (shared blobs stored once)", got, want)
			}
		})
	}
}

func TestOpenOrCreateOtherLaunch(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir)
	if _, err := OpenOrCreate(dir, "other", "production"); err == nil || !strings.Contains(err.Error(), "holds launch") {
		t.Fatalf("err = %v, want a refusal naming the archive's launch", err)
	}
}

func TestTornLastLineRefusesAppend(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	for i := 0; i < 3; i++ {
		if _, err := testAppend(a, strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, RecordsFile)
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, b[:len(b)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, op := range []struct {
		name string
		run  func() error
	}{
		{"verify", func() error { _, err := Verify(dir); return err }},
		{"append", func() error { _, err := testAppend(a, "x"); return err }},
	} {
		t.Run(op.name, func(t *testing.T) {
			err := op.run()
			if err == nil || !strings.Contains(err.Error(), "record 3: torn write") {
				t.Fatalf("err = %v, want record 3: torn write", err)
			}
		})
	}
}

// TestConcurrentGoroutines appends from goroutines, each with its own Archive handle.
func TestConcurrentGoroutines(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := OpenOrCreate(dir, "shop-1-production", "production")
			if err != nil {
				errs <- err
				return
			}
			for i := 0; i < 10; i++ {
				if _, err := testAppend(a, fmt.Sprintf("g%d-%d", g, i)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n, err := Verify(dir); err != nil || n != 40 {
		t.Fatalf("Verify = %d, %v; want 40 chained records", n, err)
	}
}

// TestConcurrentProcesses appends from two processes (this test binary, re-executed).
func TestConcurrentProcesses(t *testing.T) {
	if dir := os.Getenv("GK_ARCHIVE_CHILD"); dir != "" {
		a, err := OpenOrCreate(dir, "shop-1-production", "production")
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 25; i++ {
			if _, err := testAppend(a, fmt.Sprintf("%d-%d", os.Getpid(), i)); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	dir := t.TempDir()
	var cmds []*exec.Cmd
	for i := 0; i < 2; i++ {
		c := exec.Command(os.Args[0], "-test.run=^TestConcurrentProcesses$")
		c.Env = append(os.Environ(), "GK_ARCHIVE_CHILD="+dir)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	}
	if n, err := Verify(dir); err != nil || n != 50 {
		t.Fatalf("Verify = %d, %v; want 50 chained records from two processes", n, err)
	}
}

// BenchmarkAppend measures one fsynced append, to an empty archive and to one that already
// holds 100,000 records (an append reads only the file's end); it reports the median latency.
func BenchmarkAppend(b *testing.B) {
	for _, before := range []int{0, 100000} {
		b.Run(fmt.Sprintf("after-%d", before), func(b *testing.B) {
			dir := b.TempDir()
			if before > 0 {
				bulk, err := CreateBulk(dir, "shop-1-production", "production")
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < before; i++ {
					rec := &engine.Record{DecisionID: strconv.Itoa(i), LaunchID: "shop-1-production", Environment: "production", Gate: engine.Window,
						Decision: engine.Go, Checks: []engine.Check{}, Warnings: []engine.Warning{}, Now: "2026-11-25T14:05:00Z",
						InputDigest: "sha256:00", RunbookDigest: "sha256:00", PoliciesDigest: "sha256:00", GatekeeperVersion: "test", Prev: bulk.Prev()}
					if err := bulk.Add(rec, "sha256:00"); err != nil {
						b.Fatal(err)
					}
				}
				if err := bulk.Close(); err != nil {
					b.Fatal(err)
				}
			}
			a := openTest(b, dir)
			lat := make([]time.Duration, 0, b.N)
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				if _, err := testAppend(a, strconv.Itoa(i)); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "median-µs/append")
			}
		})
	}
}

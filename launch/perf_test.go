package launch

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// TestPerfFullWindow watches a full 120-minute window at a 15s interval in simulated time
// (481 decisions, each collected, decided, archived and read back for the history) and
// reports the peak RSS and the CPU per evaluation. It takes about a minute, so it runs only
// with GATEKEEPER_PERF=1.
func TestPerfFullWindow(t *testing.T) {
	if os.Getenv("GATEKEEPER_PERF") == "" {
		t.Skip("set GATEKEEPER_PERF=1 to watch a simulated 120-minute window")
	}
	f := newFixture(t, rbParams{Hooks: allHooks, Window: "120m", Interval: "15s"})
	r := f.runner(WithView(nopView{}))
	r.SetCutover(f.clock.Now())
	var (
		ms    runtime.MemStats
		heaps []uint64
	)
	f.mutate = func(_ engine.Params, n int, _ map[string]any) {
		if n%120 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			heaps = append(heaps, ms.HeapAlloc)
		}
	}
	var before syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	res, err := r.RunWatch(context.Background(), engine.Window, nil)
	if err != nil || res.ExitCode != engine.ExitGo {
		t.Fatalf("%+v %v", res, err)
	}
	var after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	n := len(f.records())
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / time.Duration(n)
	t.Logf("%d evaluations in %s; CPU %s per evaluation; peak RSS %s; live heap every 120 evaluations: %v MiB",
		n, time.Since(start).Round(time.Millisecond), cpu.Round(time.Millisecond), peakRSS(), mib(heaps))
	if n != 481 {
		t.Errorf("%d evaluations, want 481", n)
	}
	// Flat: the live heap after 480 decisions is within 2x of the one after 120 plus 16 MiB
	// (gatekeeper's own probe samples grow by a few bytes per decision; nothing else may).
	if len(heaps) >= 4 && heaps[len(heaps)-1] > 2*heaps[0]+16<<20 {
		t.Errorf("live heap grew from %d to %d MiB", heaps[0]>>20, heaps[len(heaps)-1]>>20)
	}
}

func mib(hs []uint64) []uint64 {
	out := make([]uint64, len(hs))
	for i, h := range hs {
		out[i] = h >> 20
	}
	return out
}

func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			f := strings.Fields(v)
			if kb, err := strconv.Atoi(f[0]); err == nil {
				return strconv.Itoa(kb>>10) + " MiB"
			}
		}
	}
	return "unknown"
}

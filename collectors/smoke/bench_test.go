package smoke

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sort"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/smoke/internal/junitgen"
)

// heapPeak samples the live heap every millisecond until stopped and returns the maximum.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); <-stopped; return peak }
}

// BenchmarkJUnit50MB parses a generated 50 MB JUnit report streaming and reports the peak
// heap during the parse (target: at most 100 MiB).
func BenchmarkJUnit50MB(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.xml")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	tests, size, err := junitgen.Write(f, 50*1000*1000)
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	var peaks []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC()
		stop := heapPeak()
		b.StartTimer()
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		s, err := (&JUnitParser{}).Parse(bufio.NewReaderSize(f, 1<<16))
		f.Close()
		b.StopTimer()
		peaks = append(peaks, float64(stop())/(1<<20))
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Tests) != tests {
			b.Fatalf("parsed %d tests, want %d", len(s.Tests), tests)
		}
		b.StartTimer()
	}
	b.StopTimer()
	sort.Float64s(peaks)
	peak := peaks[len(peaks)-1]
	b.ReportMetric(peak, "peak-heap-MiB")
	b.ReportMetric(float64(tests), "tests")
	if peak > 100 {
		b.Errorf("peak heap %.1f MiB over the 100 MiB target", peak)
	}
}

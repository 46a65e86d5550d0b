// Command junitrss measures the smoke JUnit parser as a real process, for /usr/bin/time -v:
//
//	go build -o /tmp/junitrss ./collectors/smoke/internal/junitrss
//	/tmp/junitrss -gen /tmp/big.xml -mb 50      # write a 50 MB report
//	/usr/bin/time -v /tmp/junitrss /tmp/big.xml  # parse it; see "Maximum resident set size"
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/smoke"
	"github.com/gatekeeper-dev/gatekeeper/collectors/smoke/internal/junitgen"
)

func main() {
	gen := flag.String("gen", "", "write a report to this file instead of parsing")
	mb := flag.Int64("mb", 50, "size of the generated report in MB (10^6 bytes)")
	flag.Parse()
	if *gen != "" {
		f, err := os.Create(*gen)
		if err != nil {
			fail(err)
		}
		tests, n, err := junitgen.Write(f, *mb*1000*1000)
		if err == nil {
			err = f.Close()
		}
		if err != nil {
			fail(err)
		}
		fmt.Printf("wrote %s: %d bytes, %d test cases\n", *gen, n, tests)
		return
	}
	if flag.NArg() != 1 {
		fail(fmt.Errorf("usage: junitrss [-gen FILE [-mb N]] | junitrss FILE"))
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fail(err)
	}
	defer f.Close()
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
	start := time.Now()
	s, err := (&smoke.JUnitParser{}).Parse(bufio.NewReaderSize(f, 1<<16))
	elapsed := time.Since(start)
	close(done)
	<-stopped
	if err != nil {
		fail(err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("parsed %d test cases in %v; peak heap %.1f MiB; heap obtained from the OS %.1f MiB\n",
		len(s.Tests), elapsed.Round(time.Millisecond), float64(peak)/(1<<20), float64(ms.HeapSys)/(1<<20))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "junitrss:", err)
	os.Exit(1)
}

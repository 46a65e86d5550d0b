// Package junitgen writes large, realistic JUnit XML reports for the smoke parser's benchmark
// and memory measurements.
package junitgen

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

var stack = strings.Repeat("    at shop.smoke.CheckoutFlow.pay(CheckoutFlow.java:118)\n", 7)

var out = strings.Repeat("GET /api/cart 200 12ms\n", 40)

// Write writes a JUnit report of at least size bytes: suites of 500 test cases, one in ten
// failing with a message and a stack trace, one in seventeen skipped, one in ninety-seven
// flaky, one in fifty with a system-out. It returns the number of test cases and of bytes.
func Write(w io.Writer, size int64) (tests int, written int64, err error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<16)
	start := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	fmt.Fprintf(bw, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"smoke\" tests=\"0\">\n")
	for suite := 0; cw.n+int64(bw.Buffered()) < size; suite++ {
		fmt.Fprintf(bw, "  <testsuite name=\"shop.smoke.Suite%05d\" timestamp=\"%s\" time=\"61.5\" tests=\"500\">\n",
			suite, start.Add(time.Duration(suite)*time.Minute).Format(time.RFC3339))
		for i := 0; i < 500; i++ {
			n := suite*500 + i
			fmt.Fprintf(bw, "    <testcase name=\"test_%07d_checkout_flow_variant\" classname=\"shop.smoke.module%03d.TestClass%02d\" time=\"0.%03d\"",
				n, n%211, n%17, n%1000)
			switch {
			case n%10 == 0:
				fmt.Fprintf(bw, ">\n      <failure message=\"expected total 25.00, got 24.99 (order %d)\" type=\"AssertionError\">%s</failure>\n    </testcase>\n", n, stack)
			case n%17 == 0:
				fmt.Fprintf(bw, ">\n      <skipped message=\"disabled in this environment\"/>\n    </testcase>\n")
			case n%97 == 0:
				fmt.Fprintf(bw, ">\n      <flakyFailure message=\"timeout\" type=\"TimeoutError\"><stackTrace>%s</stackTrace></flakyFailure>\n    </testcase>\n", stack)
			case n%50 == 1:
				fmt.Fprintf(bw, ">\n      <system-out><![CDATA[%s]]></system-out>\n    </testcase>\n", out)
			default:
				fmt.Fprintf(bw, "/>\n")
			}
			tests++
		}
		fmt.Fprintf(bw, "  </testsuite>\n")
	}
	fmt.Fprintf(bw, "</testsuites>\n")
	if err := bw.Flush(); err != nil {
		return tests, cw.n, err
	}
	return tests, cw.n, nil
}

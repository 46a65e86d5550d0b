// Package promtest runs a real Prometheus for tests: metric history generated against a fixed
// now, written as OpenMetrics, backfilled with `promtool tsdb create-blocks-from openmetrics`,
// and served by Debian's `prometheus` on a loopback port with a temporary data directory.
package promtest

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Point is one sample of a series.
type Point struct {
	T time.Time
	V float64
}

// History is metric history to backfill, grouped in OpenMetrics families.
type History struct {
	families map[string]*family
	order    []string
}

type family struct {
	typ    string
	series []series
}

type series struct {
	name   string
	labels map[string]string
	points []Point
}

// NewHistory returns an empty history.
func NewHistory() *History { return &History{families: map[string]*family{}} }

// Add appends a series named sample (e.g. http_requests_total) to the metric family fam (e.g.
// http_requests) of OpenMetrics type typ (counter, gauge, histogram). Points must be in time
// order.
func (h *History) Add(fam, typ, sample string, labels map[string]string, points []Point) {
	f, ok := h.families[fam]
	if !ok {
		f = &family{typ: typ}
		h.families[fam] = f
		h.order = append(h.order, fam)
	}
	f.series = append(f.series, series{name: sample, labels: labels, points: points})
}

// OpenMetrics renders the history in the OpenMetrics text format promtool backfills:
// one block per family, timestamps in seconds, terminated by # EOF.
func (h *History) OpenMetrics() []byte {
	var b bytes.Buffer
	for _, name := range h.order {
		f := h.families[name]
		fmt.Fprintf(&b, "# TYPE %s %s\n", name, f.typ)
		for _, s := range f.series {
			ls := formatLabels(s.labels)
			for _, p := range s.points {
				fmt.Fprintf(&b, "%s%s %s %s\n", s.name, ls, formatValue(p.V), strconv.FormatFloat(float64(p.T.UnixMilli())/1000, 'f', -1, 64))
			}
		}
	}
	b.WriteString("# EOF\n")
	return b.Bytes()
}

func formatLabels(l map[string]string) string {
	if len(l) == 0 {
		return ""
	}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	for i, k := range keys {
		parts[i] = k + `="` + r.Replace(l[k]) + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Buckets are the upper bounds of the generated http_request_duration_seconds histogram.
var Buckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5}

// Traffic describes a cohort's requests over time. Every function gets the sample time.
type Traffic struct {
	// RPS is the requests per second the cohort serves.
	RPS func(time.Time) float64
	// ErrorRatio is the share of those requests answered with a 5xx.
	ErrorRatio func(time.Time) float64
	// Latency is the upper bound of the bucket of Buckets every request falls into: a p95
	// of lower + 0.95 × (upper − lower) by histogram_quantile's interpolation.
	Latency func(time.Time) float64
	// Pods lists the pods serving at a time; each serves an equal share. A pod that appears
	// starts its counters at zero; nil means one pod "web-0" throughout.
	Pods func(time.Time) []string
	// Restarts are times at which a pod's counters drop back to zero (same labels).
	Restarts map[string]time.Time
	// Gaps are [from, to) intervals in which no sample was scraped.
	Gaps [][2]time.Time
	// NoErrorSeries leaves out the 5xx series while no request has failed, as client_golang
	// does: a code's series exists only from its first use.
	NoErrorSeries bool
}

// Cohort generates http_requests_total{code} and http_request_duration_seconds for a cohort
// labelled label=value, scraped every interval at offset past the interval grid, from from to
// to (inclusive), and adds them to h.
func (h *History) Cohort(label, value string, tr Traffic, from, to time.Time, interval, offset time.Duration) {
	pods := tr.Pods
	if pods == nil {
		pods = func(time.Time) []string { return []string{"web-0"} }
	}
	type state struct {
		ok, errs, sum float64
		buckets       []float64
		restarted     bool
	}
	st := map[string]*state{}
	type key struct{ pod, what string }
	out := map[key][]Point{}
	var podOrder []string
	start := from.Truncate(interval).Add(offset)
	if start.Before(from) {
		start = start.Add(interval)
	}
	prev := start.Add(-interval)
	for t := start; !t.After(to); t = t.Add(interval) {
		mid := prev.Add(t.Sub(prev) / 2)
		active := pods(mid)
		dt := t.Sub(prev).Seconds()
		prev = t
		for _, p := range active {
			s, ok := st[p]
			if !ok {
				s = &state{buckets: make([]float64, len(Buckets)+1)}
				st[p] = s
				podOrder = append(podOrder, p)
			}
			if rt, ok := tr.Restarts[p]; ok && !s.restarted && !t.Before(rt) {
				*s = state{buckets: make([]float64, len(Buckets)+1), restarted: true}
			}
			n := tr.RPS(mid) * dt / float64(len(active))
			e := n * tr.ErrorRatio(mid)
			s.ok += n - e
			s.errs += e
			lat := tr.Latency(mid)
			s.sum += n * lat * 0.9
			for i, le := range Buckets {
				if lat <= le {
					s.buckets[i] += n
				}
			}
			s.buckets[len(Buckets)] += n
			if gapped(t, tr.Gaps) {
				continue
			}
			add := func(what string, v float64) { out[key{p, what}] = append(out[key{p, what}], Point{t, v}) }
			add("200", s.ok)
			add("500", s.errs)
			for i := range s.buckets {
				add("b"+strconv.Itoa(i), s.buckets[i])
			}
			add("count", s.buckets[len(Buckets)])
			add("sum", s.sum)
		}
	}
	for _, p := range podOrder {
		base := map[string]string{label: value, "pod": p, "job": "web"}
		with := func(k, v string) map[string]string {
			m := map[string]string{k: v}
			for a, b := range base {
				m[a] = b
			}
			return m
		}
		for _, code := range []string{"200", "500"} {
			pts := out[key{p, code}]
			if code == "500" && tr.NoErrorSeries && slices.ContainsFunc(pts, func(x Point) bool { return x.V == 0 }) {
				pts = slices.DeleteFunc(slices.Clone(pts), func(x Point) bool { return x.V == 0 })
			}
			if len(pts) > 0 {
				h.Add("http_requests", "counter", "http_requests_total", with("code", code), pts)
			}
		}
		for i := range len(Buckets) + 1 {
			le := "+Inf"
			if i < len(Buckets) {
				le = strconv.FormatFloat(Buckets[i], 'g', -1, 64)
			}
			if pts := out[key{p, "b" + strconv.Itoa(i)}]; len(pts) > 0 {
				h.Add("http_request_duration_seconds", "histogram", "http_request_duration_seconds_bucket", with("le", le), pts)
			}
		}
		if pts := out[key{p, "count"}]; len(pts) > 0 {
			h.Add("http_request_duration_seconds", "histogram", "http_request_duration_seconds_count", base, pts)
			h.Add("http_request_duration_seconds", "histogram", "http_request_duration_seconds_sum", base, out[key{p, "sum"}])
		}
	}
}

func gapped(t time.Time, gaps [][2]time.Time) bool {
	return slices.ContainsFunc(gaps, func(g [2]time.Time) bool { return !t.Before(g[0]) && t.Before(g[1]) })
}

// Gauge adds a gauge series sampled every interval at offset, its value given by v.
func (h *History) Gauge(fam string, labels map[string]string, v func(time.Time) float64, from, to time.Time, interval, offset time.Duration) {
	var pts []Point
	start := from.Truncate(interval).Add(offset)
	if start.Before(from) {
		start = start.Add(interval)
	}
	for t := start; !t.After(to); t = t.Add(interval) {
		pts = append(pts, Point{t, v(t)})
	}
	h.Add(fam, "gauge", fam, labels, pts)
}

package launch

import (
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// View shows a launch as it goes: every evaluation and what happens between them.
type View interface {
	Evaluation(e Evaluation)
	Message(msg string)
}

// Evaluation is one decision of a phase, as a view shows it.
type Evaluation struct {
	Phase  string
	Record *engine.Record
	Left   time.Duration // until the phase's end; negative past it
	End    time.Time
}

type nopView struct{}

func (nopView) Evaluation(Evaluation) {}
func (nopView) Message(string)        {}

// NewView returns a live view on w: a redrawn screen when w is a terminal, one plain line per
// evaluation otherwise (CI logs).
func NewView(w io.Writer) View {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return NewTermView(w)
	}
	return NewPlainView(w)
}

// PlainView writes one line per evaluation and per message.
type PlainView struct {
	mu sync.Mutex
	w  io.Writer
}

// NewPlainView returns a PlainView writing to w.
func NewPlainView(w io.Writer) *PlainView { return &PlainView{w: w} }

// Evaluation writes the decision, the time left and each criterion's value against its threshold.
func (v *PlainView) Evaluation(e Evaluation) {
	v.mu.Lock()
	defer v.mu.Unlock()
	rec := e.Record
	var parts []string
	for _, c := range sortedChecks(rec.Checks) {
		if obs, thr, ok := observedThreshold(c); ok {
			parts = append(parts, fmt.Sprintf("%s=%s/%s%s", shortRule(c.Rule), fnum(obs), fnum(thr), coverageSuffix(c)))
		} else if c.Outcome != engine.Go {
			parts = append(parts, fmt.Sprintf("%s:%s", shortRule(c.Rule), c.Status))
		}
	}
	fmt.Fprintf(v.w, "%s %s %s%s left=%s %s\n", rec.Now, e.Phase, strings.ToUpper(string(rec.Decision)), completeWord(rec),
		leftString(e.Left), strings.Join(parts, " "))
}

// Message writes msg on a line of its own.
func (v *PlainView) Message(msg string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	fmt.Fprintf(v.w, "# %s\n", msg)
}

// TermView redraws the screen at every evaluation: time left, each criterion's current value
// against its threshold with a sparkline of its recent values, coverage, the last decision.
type TermView struct {
	mu      sync.Mutex
	w       io.Writer
	history map[string][]float64 // rule → recent observed values
	log     []string
	last    *Evaluation
}

// sparkLen is how many recent values a sparkline shows; logLen how many messages stay on screen.
const (
	sparkLen = 24
	logLen   = 8
)

// NewTermView returns a TermView drawing on w.
func NewTermView(w io.Writer) *TermView { return &TermView{w: w, history: map[string][]float64{}} }

// Evaluation records the values and redraws.
func (v *TermView) Evaluation(e Evaluation) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, c := range e.Record.Checks {
		if obs, _, ok := observedThreshold(c); ok {
			key := phaseKey(e) + c.Rule
			h := append(v.history[key], obs)
			if len(h) > sparkLen {
				h = h[len(h)-sparkLen:]
			}
			v.history[key] = h
		}
	}
	v.last = &e
	v.draw()
}

// Message adds msg to the log under the table and redraws.
func (v *TermView) Message(msg string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.log = append(v.log, time.Now().UTC().Format("15:04:05")+"  "+msg)
	if len(v.log) > logLen {
		v.log = v.log[len(v.log)-logLen:]
	}
	v.draw()
}

func (v *TermView) draw() {
	var b strings.Builder
	b.WriteString("\x1b[H\x1b[2J")
	if e := v.last; e != nil {
		rec := e.Record
		fmt.Fprintf(&b, "gatekeeper · %s · %s · %s\n", rec.LaunchID, e.Phase, rec.Now)
		fmt.Fprintf(&b, "time left: %s   decision: %s%s\n\n", leftString(e.Left), strings.ToUpper(string(rec.Decision)), completeWord(rec))
		fmt.Fprintf(&b, "  %-8s %-34s %12s %12s %9s  %s\n", "STATUS", "CRITERION", "VALUE", "THRESHOLD", "COVERAGE", "TREND")
		for _, c := range sortedChecks(rec.Checks) {
			val, thr, cov, spark := "", "", "", ""
			if obs, t, ok := observedThreshold(c); ok {
				val, thr = fnum(obs), fnum(t)
				spark = sparkline(v.history[phaseKey(*e)+c.Rule], t)
			}
			if x, ok := c.Evidence["coverage"].(float64); ok {
				cov = fmt.Sprintf("%.0f%%", x*100)
			}
			fmt.Fprintf(&b, "  %-8s %-34s %12s %12s %9s  %s\n", c.Status, trim(c.Rule, 34), val, thr, cov, spark)
		}
		if rec.Decision != engine.Go {
			fmt.Fprintf(&b, "\n%s: %s\n", rec.Decision, trim(Reasons(rec), 400))
		}
	}
	if len(v.log) > 0 {
		b.WriteString("\n")
		for _, l := range v.log {
			b.WriteString(l + "\n")
		}
	}
	_, _ = io.WriteString(v.w, b.String())
}

func phaseKey(e Evaluation) string { return e.Phase + "\x00" }

// observedThreshold reads a check's evidence for the value it compared and its threshold.
func observedThreshold(c engine.Check) (obs, thr float64, ok bool) {
	o, ok1 := toFloat(c.Evidence["observed"])
	t, ok2 := toFloat(c.Evidence["threshold"])
	return o, t, ok1 && ok2
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x)
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

func coverageSuffix(c engine.Check) string {
	if x, ok := c.Evidence["coverage"].(float64); ok {
		return fmt.Sprintf("(cov %.0f%%)", x*100)
	}
	return ""
}

// sortedChecks puts failing and unknown checks first, then by rule.
func sortedChecks(cs []engine.Check) []engine.Check {
	out := append([]engine.Check(nil), cs...)
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := statusRank(out[i].Status), statusRank(out[j].Status)
		if ri != rj {
			return ri < rj
		}
		return out[i].Rule < out[j].Rule
	})
	return out
}

func statusRank(s string) int {
	switch s {
	case "fail":
		return 0
	case "unknown":
		return 1
	}
	return 2
}

func shortRule(r string) string {
	if _, after, ok := strings.Cut(r, "."); ok {
		return after
	}
	return r
}

func completeWord(rec *engine.Record) string {
	if rec.Complete {
		return " (complete)"
	}
	return ""
}

func leftString(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return d.Round(time.Second).String()
}

func fnum(f float64) string { return fmt.Sprintf("%.4g", f) }

func trim(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// sparkline draws values on a scale from 0 to the larger of their maximum and the
// threshold, so a value near its threshold reads high.
func sparkline(vals []float64, threshold float64) string {
	top := threshold
	for _, v := range vals {
		top = max(top, v)
	}
	if top <= 0 {
		top = 1
	}
	var b strings.Builder
	for _, v := range vals {
		i := int(math.Round(v / top * float64(len(sparkRunes)-1)))
		b.WriteRune(sparkRunes[min(max(i, 0), len(sparkRunes)-1)])
	}
	return b.String()
}
